/// A user as clients see it; never holds the password hash.
public struct User: Codable, Sendable, Hashable {
    public var id: String
    public var username: String
    public var displayName: String
    public var bio: String?
    public var avatar: String?
    public var createdAt: Int

    public init(id: String, username: String, displayName: String, bio: String? = nil, avatar: String? = nil, createdAt: Int) {
        self.id = id
        self.username = username
        self.displayName = displayName
        self.bio = bio
        self.avatar = avatar
        self.createdAt = createdAt
    }

    /// Builds a user from its Redis hash; nil when the hash is empty or incomplete.
    init?(hash: [String: String]) {
        guard let id = hash["id"], let username = hash["username"] else { return nil }
        self.id = id
        self.username = username
        self.displayName = hash["displayName"] ?? username
        self.bio = hash["bio"].flatMap { $0.isEmpty ? nil : $0 }
        self.avatar = hash["avatar"].flatMap { $0.isEmpty ? nil : $0 }
        self.createdAt = hash["createdAt"].flatMap { Int($0) } ?? 0
    }
}

/// Whether and how a user is reachable.
public struct Presence: Codable, Sendable, Hashable {
    /// `online`, `away`, `busy` or `offline`.
    public var status: String
    /// Unix ms of the last disconnect; nil for a user who never connected.
    public var lastSeen: Int?

    public init(status: String, lastSeen: Int?) {
        self.status = status
        self.lastSeen = lastSeen
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encode(lastSeen, forKey: .lastSeen)  // explicit null, as the contract shows
    }
}
