import Foundation

/// A conversation as clients see it.
public struct Conversation: Codable, Sendable, Hashable {
    public var id: String
    public var kind: ConversationKind
    public var name: String?
    public var description: String?
    /// Rooms only: listed in `GET /rooms` and joinable by anyone.
    public var `public`: Bool?
    public var createdBy: String
    public var createdAt: Int
    /// The newest message's seq (0 when none).
    public var seq: Int
    /// Unix ms of the last message (or creation).
    public var lastActivity: Int?
    public var unread: Int?
    public var lastMessage: Message?
    public var members: [Member]?
    /// Random, set when the conversation was created: a direct conversation
    /// deleted and opened again (same id, seq from 0) has a new one. Nil for
    /// a conversation created before epochs existed.
    public var epoch: String?
    /// For the user asking: their notifications of this conversation are
    /// muted until then (unix ms); absent when not muted.
    public var mutedUntil: Int? = nil

    enum CodingKeys: String, CodingKey {
        case id, kind, name, description, `public`, createdBy, createdAt, seq, lastActivity, unread, lastMessage, members, epoch
        case mutedUntil
        case lastTs
    }

    public init(
        id: String, kind: ConversationKind, name: String? = nil, description: String? = nil, public: Bool? = nil,
        createdBy: String, createdAt: Int, seq: Int, lastActivity: Int? = nil, unread: Int? = nil,
        lastMessage: Message? = nil, members: [Member]? = nil, epoch: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.name = name
        self.description = description
        self.public = `public`
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.seq = seq
        self.lastActivity = lastActivity
        self.unread = unread
        self.lastMessage = lastMessage
        self.members = members
        self.epoch = epoch
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        kind = try container.decode(ConversationKind.self, forKey: .kind)
        name = (try container.decodeIfPresent(String.self, forKey: .name)).flatMap { $0.isEmpty ? nil : $0 }
        description = (try container.decodeIfPresent(String.self, forKey: .description)).flatMap { $0.isEmpty ? nil : $0 }
        `public` = try container.decodeIfPresent(Bool.self, forKey: .public)
        if kind != .room { `public` = nil }
        createdBy = try container.decode(String.self, forKey: .createdBy)
        createdAt = try container.decode(Int.self, forKey: .createdAt)
        seq = try container.decodeIfPresent(Int.self, forKey: .seq) ?? 0
        lastActivity =
            try container.decodeIfPresent(Int.self, forKey: .lastActivity)
            ?? container.decodeIfPresent(Int.self, forKey: .lastTs)
        unread = try container.decodeIfPresent(Int.self, forKey: .unread)
        lastMessage = try container.decodeIfPresent(Message.self, forKey: .lastMessage)
        // Lua's cjson writes an empty list as {}.
        members = try? container.decodeIfPresent([Member].self, forKey: .members)
        epoch = (try container.decodeIfPresent(String.self, forKey: .epoch)).flatMap { $0.isEmpty ? nil : $0 }
        mutedUntil = try container.decodeIfPresent(Int.self, forKey: .mutedUntil)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(kind, forKey: .kind)
        try container.encodeIfPresent(name, forKey: .name)
        try container.encodeIfPresent(description, forKey: .description)
        try container.encodeIfPresent(`public`, forKey: .public)
        try container.encode(createdBy, forKey: .createdBy)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(seq, forKey: .seq)
        try container.encodeIfPresent(lastActivity, forKey: .lastActivity)
        try container.encodeIfPresent(unread, forKey: .unread)
        try container.encodeIfPresent(lastMessage, forKey: .lastMessage)
        try container.encodeIfPresent(members, forKey: .members)
        try container.encodeIfPresent(epoch, forKey: .epoch)
        try container.encodeIfPresent(mutedUntil, forKey: .mutedUntil)
    }
}
