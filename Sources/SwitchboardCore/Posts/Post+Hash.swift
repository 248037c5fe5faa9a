import Foundation
import SwitchboardProtocol

extension Post {
    /// A post from its hash (`sb:post:{P}`); nil when the hash is empty (deleted or unknown).
    init?(hash: [String: String]) {
        guard let id = hash["id"], let author = hash["author"] else { return nil }
        let attachments = hash["attachments"].flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
        self.init(
            id: id, author: author, text: hash["text"] ?? "", attachments: attachments,
            createdAt: hash["createdAt"].flatMap { Int($0) } ?? 0, editedAt: hash["editedAt"].flatMap { Int($0) },
            likes: hash["likes"].flatMap { Int($0) } ?? 0, comments: hash["comments"].flatMap { Int($0) } ?? 0,
            shares: hash["shares"].flatMap { Int($0) } ?? 0)
    }

    /// The live event followers receive: `{"ev":"post","post":{…}}`.
    var eventJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        let body = (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return #"{"ev":"post","post":"# + body + "}"
    }
}
