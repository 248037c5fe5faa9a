/// A post as a chat message shows it (`kind: "post"`): taken when the post
/// was shared, so later edits do not change the message; `deleted` is set
/// when the post is gone by the time the message is read.
public struct PostSnapshot: Codable, Sendable, Hashable {
    public var id: String
    public var author: String
    /// The first 500 bytes of the post's text (cut at a character boundary).
    public var text: String
    public var createdAt: Int
    public var deleted: Bool?

    public init(id: String, author: String, text: String, createdAt: Int, deleted: Bool? = nil) {
        self.id = id
        self.author = author
        self.text = text
        self.createdAt = createdAt
        self.deleted = deleted
    }
}
