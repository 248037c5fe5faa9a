/// A user as clients see it; never holds the password hash.
public struct User: Codable, Sendable, Hashable {
    public var id: String
    public var username: String
    public var displayName: String
    public var bio: String?
    public var avatar: String?
    public var createdAt: Int
    /// How many users follow this one (set by `GET /users/{id}`).
    public var followers: Int?
    /// How many users this one follows (set by `GET /users/{id}`).
    public var following: Int?

    public init(id: String, username: String, displayName: String, bio: String? = nil, avatar: String? = nil, createdAt: Int) {
        self.id = id
        self.username = username
        self.displayName = displayName
        self.bio = bio
        self.avatar = avatar
        self.createdAt = createdAt
    }
}
