/// A post as clients see it (REST, the `post` event, feeds).
public struct Post: Codable, Sendable, Hashable {
    public var id: String
    /// The author's user id.
    public var author: String
    public var text: String
    /// Attachment references (upload ids); empty until uploads exist.
    public var attachments: [String]
    public var createdAt: Int
    public var editedAt: Int?
    public var likes: Int
    public var comments: Int
    public var shares: Int

    public init(
        id: String, author: String, text: String, attachments: [String] = [], createdAt: Int, editedAt: Int? = nil,
        likes: Int = 0, comments: Int = 0, shares: Int = 0
    ) {
        self.id = id
        self.author = author
        self.text = text
        self.attachments = attachments
        self.createdAt = createdAt
        self.editedAt = editedAt
        self.likes = likes
        self.comments = comments
        self.shares = shares
    }
}

/// A comment on a post; `id` is its stream entry id (`<ms>-<n>`).
public struct PostComment: Codable, Sendable, Hashable {
    public var id: String
    public var post: String
    public var from: String
    public var text: String
    public var ts: Int

    public init(id: String, post: String, from: String, text: String, ts: Int) {
        self.id = id
        self.post = post
        self.from = from
        self.text = text
        self.ts = ts
    }
}
