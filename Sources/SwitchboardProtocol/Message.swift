import Foundation

/// One message as clients see it. `id` is its stream entry id; `seq`
/// counts 1, 2, 3… within the conversation.
public struct Message: Codable, Sendable, Hashable {
    public var id: String
    public var conv: String
    public var seq: Int
    public var from: String
    public var kind: MessageKind
    public var text: String
    public var ts: Int
    public var nonce: String?
    public var editedAt: Int?
    public var deleted: Bool?
    /// Reaction counts by emoji (`{"👍": 3}`); absent when there are none.
    public var reactions: [String: Int]? = nil
    /// True while the message is pinned in its conversation.
    public var pinned: Bool? = nil

    public init(
        id: String, conv: String, seq: Int, from: String, kind: MessageKind = .text, text: String, ts: Int,
        nonce: String? = nil, editedAt: Int? = nil, deleted: Bool? = nil
    ) {
        self.id = id
        self.conv = conv
        self.seq = seq
        self.from = from
        self.kind = kind
        self.text = text
        self.ts = ts
        self.nonce = nonce
        self.editedAt = editedAt
        self.deleted = deleted
    }
}

extension Message {
    /// Decodes a message JSON (as the `send` script returns it).
    public static func decode(json: String) throws -> Message {
        try JSONDecoder().decode(Message.self, from: Data(json.utf8))
    }
}
