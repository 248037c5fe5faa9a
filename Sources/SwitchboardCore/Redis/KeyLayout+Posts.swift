/// Keys of posts, follows and feeds (see docs/redis-layout.md, "Posts, follows and feeds").
extension KeyLayout {
    /// Hash of one post: id, author, text, attachments (JSON), createdAt, editedAt, likes, comments, shares.
    public func post(_ id: String) -> String { "\(prefix)post:{\(id)}" }
    /// Set of the user ids that like a post.
    public func postLikes(_ id: String) -> String { "\(prefix)post:{\(id)}:likes" }
    /// Stream of a post's comments (`from`, `text`, `ts`).
    public func postComments(_ id: String) -> String { "\(prefix)post:{\(id)}:comments" }
    /// Sorted set of a user's post ids by createdAt (ms).
    public func userPosts(_ user: String) -> String { "\(prefix)user:{\(user)}:posts" }
    /// Sorted set of a user's followers by follow time (ms).
    public func followers(_ user: String) -> String { "\(prefix)user:{\(user)}:followers" }
    /// Sorted set of the users a user follows by follow time (ms).
    public func following(_ user: String) -> String { "\(prefix)user:{\(user)}:following" }
    /// Sorted set of post ids by createdAt (ms): a user's feed, the newest `feedSize` kept.
    public func feed(_ user: String) -> String { "\(prefix)feed:{\(user)}" }
    /// Set of authors whose posts are merged into feeds at read time (too many followers to fan out).
    public var pullAuthors: String { "\(prefix)feed:pull-authors" }
}
