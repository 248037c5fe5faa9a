import Foundation
import RedisClient
import SwitchboardProtocol

extension Message {
    /// A message from a stream entry (`[id, [field, value, ...]]`), without edits applied.
    init?(conversation: String, entry: RedisValue, epoch: String? = nil) {
        guard let parts = entry.array, parts.count == 2, let id = parts[0].string,
            let fields = parts[1].stringPairs, let seq = fields["seq"].flatMap({ Int($0) })
        else { return nil }
        self.init(
            id: id, conv: conversation, seq: seq, from: fields["from"] ?? "", kind: MessageKind(rawValue: fields["kind"] ?? "text"),
            text: fields["text"] ?? "", ts: fields["ts"].flatMap { Int($0) } ?? 0, nonce: fields["nonce"], epoch: epoch,
            attachments: Self.decodeField(fields["attachments"]), replyTo: Self.decodeField(fields["replyTo"]),
            post: Self.decodeField(fields["post"]))
    }

    /// A JSON field of a rich message's stream entry (attachments, replyTo, post).
    private static func decodeField<T: Decodable>(_ json: String?) -> T? {
        guard let json else { return nil }
        return try? JSONDecoder().decode(T.self, from: Data(json.utf8))
    }

    /// Applies the entry of `sb:conv:{C}:edits` for this message: the current
    /// text and `editedAt`, or `deleted` with empty text.
    mutating func apply(edit json: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return }
        if object["deleted"] as? Bool == true {
            deleted = true
            text = ""
            attachments = nil
            post = nil
            replyTo = nil
            return
        }
        if let text = object["text"] as? String { self.text = text }
        if let editedAt = object["editedAt"] as? Int { self.editedAt = editedAt }
    }

    /// Applies the entry of `sb:conv:{C}:reactions` for this message (`{"👍":3}`).
    mutating func apply(reactions json: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return }
        var counts: [String: Int] = [:]
        for (emoji, value) in object {
            if let count = (value as? NSNumber)?.intValue, count > 0 { counts[emoji] = count }
        }
        reactions = counts.isEmpty ? nil : counts
    }

    /// Decodes a message JSON produced by a Lua script.
    static func decode(_ json: String) throws(SwitchboardError) -> Message {
        do {
            return try JSONDecoder().decode(Message.self, from: Data(json.utf8))
        } catch {
            throw SwitchboardError(.internalError, "unreadable message from Redis")
        }
    }
}
