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
    /// The conversation's epoch when the message was stored (see
    /// `Conversation.epoch`); nil in a conversation created before epochs.
    public var epoch: String?
    /// Files sent with the message (`kind` `image` when all are images, else `file`).
    public var attachments: [FileInfo]?
    /// The message this one answers, quoted.
    public var replyTo: ReplyQuote?
    /// How many replies answer this message (read time: history, resume; absent when none).
    public var replies: Int?
    /// The shared post (`kind: "post"`).
    public var post: PostSnapshot?
    /// Reaction counts by emoji (`{"👍": 3}`); absent when there are none.
    public var reactions: [String: Int]? = nil
    /// True while the message is pinned in its conversation.
    public var pinned: Bool? = nil

    public init(
        id: String, conv: String, seq: Int, from: String, kind: MessageKind = .text, text: String, ts: Int,
        nonce: String? = nil, editedAt: Int? = nil, deleted: Bool? = nil, epoch: String? = nil, attachments: [FileInfo]? = nil,
        replyTo: ReplyQuote? = nil, replies: Int? = nil, post: PostSnapshot? = nil
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
        self.epoch = epoch
        self.attachments = attachments
        self.replyTo = replyTo
        self.replies = replies
        self.post = post
    }
}

extension Message {
    /// Decodes a message JSON (as the `send` script returns it).
    public static func decode(json: String) throws -> Message {
        try JSONDecoder().decode(Message.self, from: Data(json.utf8))
    }
}
