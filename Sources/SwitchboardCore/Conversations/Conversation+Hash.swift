import Foundation
import SwitchboardProtocol

extension Conversation {
    /// A conversation from its Redis hash; nil when the hash is empty.
    init?(hash: [String: String]) {
        guard let id = hash["id"], let kind = hash["kind"].flatMap(ConversationKind.init(rawValue:)) else { return nil }
        self.init(
            id: id, kind: kind, name: hash["name"].flatMap { $0.isEmpty ? nil : $0 },
            description: hash["description"].flatMap { $0.isEmpty ? nil : $0 },
            public: kind == .room ? hash["public"] == "1" : nil, createdBy: hash["createdBy"] ?? "",
            createdAt: hash["createdAt"].flatMap { Int($0) } ?? 0, seq: hash["seq"].flatMap { Int($0) } ?? 0,
            lastActivity: hash["lastTs"].flatMap { Int($0) },
            lastMessage: hash["lastMessage"].flatMap { try? Message.decode($0) },
            epoch: hash["epoch"].flatMap { $0.isEmpty ? nil : $0 })
    }

    static func decode(_ json: String) throws(SwitchboardError) -> Conversation {
        do {
            return try JSONDecoder().decode(Conversation.self, from: Data(json.utf8))
        } catch {
            throw SwitchboardError(.internalError, "unreadable conversation from Redis")
        }
    }
}
