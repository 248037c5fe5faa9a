import NIOHTTP1
import SwitchboardProtocol

/// Posts, follows, the feed, likes and comments: the REST routes of
/// docs/protocol.md (`/api/v1/posts`, `/users/{id}/follow`, `/feed`…), with
/// the user's token. New posts of followed users arrive live as `.post` events.
extension SwitchboardClient {
    /// Creates a post (1 to 4,096 bytes of text); followers online get a `.post` event.
    public func createPost(_ text: String, attachments: [String] = []) async throws -> Post {
        var body: [String: Any] = ["text": text]
        if !attachments.isEmpty { body["attachments"] = attachments }
        return try Self.field(Post.self, try await api(.POST, "/posts", body: body), "post")
    }

    /// A post; throws `not_found` when it is unknown or deleted.
    public func post(_ id: String) async throws -> Post {
        try Self.field(Post.self, try await api(.GET, "/posts/\(RESTTransport.segment(id))"), "post")
    }

    /// Replaces the text of an own post; the answer has `editedAt`.
    public func editPost(_ id: String, text: String) async throws -> Post {
        try Self.field(Post.self, try await api(.PATCH, "/posts/\(RESTTransport.segment(id))", body: ["text": text]), "post")
    }

    /// Deletes an own post (with its likes and comments); it leaves every feed.
    public func deletePost(_ id: String) async throws {
        _ = try await api(.DELETE, "/posts/\(RESTTransport.segment(id))")
    }

    /// A user's posts, newest first.
    public func posts(of user: String, before: String? = nil, limit: Int? = nil) async throws -> ListPage<Post> {
        let object = try await api(.GET, "/users/\(RESTTransport.segment(user))/posts", query: Self.paging(before, limit))
        return try Self.page(Post.self, object, "posts")
    }

    /// The posts of the people the user follows and their own, newest first.
    public func feed(before: String? = nil, limit: Int? = nil) async throws -> ListPage<Post> {
        try Self.page(Post.self, try await api(.GET, "/feed", query: Self.paging(before, limit)), "posts")
    }

    /// Follows a user (idempotent): their next posts reach the feed.
    public func follow(_ user: String) async throws {
        _ = try await api(.PUT, "/users/\(RESTTransport.segment(user))/follow")
    }

    /// Unfollows a user (idempotent); posts already in the feed stay.
    public func unfollow(_ user: String) async throws {
        _ = try await api(.DELETE, "/users/\(RESTTransport.segment(user))/follow")
    }

    /// Who follows `user`, most recent first.
    public func followers(of user: String, before: String? = nil, limit: Int? = nil) async throws -> ListPage<User> {
        let object = try await api(.GET, "/users/\(RESTTransport.segment(user))/followers", query: Self.paging(before, limit))
        return try Self.page(User.self, object, "users")
    }

    /// Whom `user` follows, most recent first.
    public func following(of user: String, before: String? = nil, limit: Int? = nil) async throws -> ListPage<User> {
        let object = try await api(.GET, "/users/\(RESTTransport.segment(user))/following", query: Self.paging(before, limit))
        return try Self.page(User.self, object, "users")
    }

    /// Likes a post (once per user: liking again changes nothing); answers the like count.
    @discardableResult
    public func like(_ post: String) async throws -> Int {
        try await api(.PUT, "/posts/\(RESTTransport.segment(post))/like")["likes"] as? Int ?? 0
    }

    /// Takes the user's like back; answers the like count.
    @discardableResult
    public func unlike(_ post: String) async throws -> Int {
        try await api(.DELETE, "/posts/\(RESTTransport.segment(post))/like")["likes"] as? Int ?? 0
    }

    /// Comments on a post (1 to 2,048 bytes).
    public func comment(on post: String, text: String) async throws -> PostComment {
        let object = try await api(.POST, "/posts/\(RESTTransport.segment(post))/comments", body: ["text": text])
        return try Self.field(PostComment.self, object, "comment")
    }

    /// A post's comments, newest first.
    public func comments(on post: String, before: String? = nil, limit: Int? = nil) async throws -> ListPage<PostComment> {
        let object = try await api(.GET, "/posts/\(RESTTransport.segment(post))/comments", query: Self.paging(before, limit))
        return try Self.page(PostComment.self, object, "comments")
    }

    /// Deletes a comment: its author, or the post's author.
    public func deleteComment(_ id: String, on post: String) async throws {
        _ = try await api(.DELETE, "/posts/\(RESTTransport.segment(post))/comments/\(RESTTransport.segment(id))")
    }

    static func paging(_ before: String?, _ limit: Int?) -> [(String, String?)] {
        [("before", before), ("limit", limit.map(String.init))]
    }
}
