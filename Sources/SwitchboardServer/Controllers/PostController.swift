import Hummingbird
import Logging
import SwitchboardCore

/// `/api/v1/posts*` and `/api/v1/users/{id}/posts`: posts, likes and comments.
/// Fan-out to feeds and notifications run as background work after the answer.
struct PostController {
    let switchboard: Switchboard
    let authenticator: Authenticator
    let background: BackgroundWork

    struct CreateBody: Decodable {
        var text: String
        var attachments: [String]?
    }

    struct UpdateBody: Decodable {
        var text: String
    }

    struct CommentBody: Decodable {
        var text: String
    }

    struct PostAnswer: Encodable { var post: Post }
    struct CommentAnswer: Encodable { var comment: PostComment }
    struct LikeAnswer: Encodable {
        var liked: Bool
        var likes: Int
    }

    func register(on group: RouterGroup<SwitchboardRequestContext>) {
        let posts = switchboard.posts
        let limit = switchboard.configuration.limits.httpBodySize
        let rules = switchboard.configuration.posts
        let rateLimiter = switchboard.rateLimiter
        let background = self.background
        let logger = switchboard.logger

        group.post("posts") { request, _ in
            let user = try await authenticator.userID(request)
            var request = request
            let body = try await request.decodeJSON(CreateBody.self, limit: limit)
            try await rateLimiter.enforce("post:\(user)", rule: .perMinute(rules.postsPerMinute))
            let post = try await posts.create(author: user, text: body.text, attachments: body.attachments ?? [])
            background.submit("fan-out of post \(post.id)") {
                do { try await posts.fanOut(post) } catch {
                    logger.warning("post fan-out failed", metadata: ["post": "\(post.id)", "error": "\(error)"])
                }
            }
            return try JSONCoding.response(PostAnswer(post: post), status: .created)
        }
        group.get("posts/:id") { request, context in
            _ = try await authenticator.userID(request)
            let post = try await posts.post(id: try context.parameters.require("id"))
            return try JSONCoding.response(PostAnswer(post: post))
        }
        group.patch("posts/:id") { request, context in
            let user = try await authenticator.userID(request)
            var request = request
            let body = try await request.decodeJSON(UpdateBody.self, limit: limit)
            let post = try await posts.update(id: try context.parameters.require("id"), actor: user, text: body.text)
            return try JSONCoding.response(PostAnswer(post: post))
        }
        group.delete("posts/:id") { request, context in
            let user = try await authenticator.userID(request)
            let id = try context.parameters.require("id")
            try await posts.delete(id: id, actor: user)
            background.submit("feed removal of post \(id)") {
                do { try await posts.removeFromFeeds(id, author: user) } catch {
                    logger.warning("post feed removal failed", metadata: ["post": "\(id)", "error": "\(error)"])
                }
            }
            return Response(status: .noContent)
        }
        group.get("users/:id/posts") { request, context in
            _ = try await authenticator.userID(request)
            let (before, count) = try Self.paging(request)
            let page = try await posts.userPosts(try context.parameters.require("id"), before: before, limit: count)
            return try JSONCoding.response(PageAnswer(key: "posts", items: page.items, next: page.next?.description))
        }

        // Likes
        for like in [true, false] {
            let handler: @Sendable (Request, SwitchboardRequestContext) async throws -> Response = { request, context in
                let user = try await authenticator.userID(request)
                try await rateLimiter.enforce("like:\(user)", rule: .perMinute(rules.likesPerMinute))
                let id = try context.parameters.require("id")
                let result = try await posts.like(id, actor: user, like)
                if like && result.changed {
                    background.submit("post.liked notification") {
                        try? await posts.notifyAuthor(result.author, type: "post.liked", post: id, actor: user, count: result.likes)
                    }
                }
                return try JSONCoding.response(LikeAnswer(liked: like, likes: result.likes))
            }
            if like { group.put("posts/:id/like", use: handler) } else { group.delete("posts/:id/like", use: handler) }
        }

        // Comments
        group.post("posts/:id/comments") { request, context in
            let user = try await authenticator.userID(request)
            var request = request
            let body = try await request.decodeJSON(CommentBody.self, limit: limit)
            try await rateLimiter.enforce("comment:\(user)", rule: .perMinute(rules.commentsPerMinute))
            let id = try context.parameters.require("id")
            let (comment, author) = try await posts.comment(on: id, actor: user, text: body.text)
            background.submit("post.commented notification") {
                try? await posts.notifyAuthor(author, type: "post.commented", post: id, actor: user)
            }
            return try JSONCoding.response(CommentAnswer(comment: comment), status: .created)
        }
        group.get("posts/:id/comments") { request, context in
            _ = try await authenticator.userID(request)
            let query = request.uri.queryParameters
            let count = try UserController.limit(query["limit"].map(String.init), default: 20, maximum: 100)
            let page = try await posts.comments(
                on: try context.parameters.require("id"), before: query["before"].map(String.init), limit: count)
            return try JSONCoding.response(PageAnswer(key: "comments", items: page.comments, next: page.next))
        }
        group.delete("posts/:id/comments/:commentId") { request, context in
            let user = try await authenticator.userID(request)
            try await posts.deleteComment(
                try context.parameters.require("commentId"), on: try context.parameters.require("id"), actor: user)
            return Response(status: .noContent)
        }
    }

    /// `before` (a `next` cursor, or ms) and `limit` (1…100, default 20) of a paged list.
    static func paging(_ request: Request) throws(SwitchboardError) -> (PageCursor?, Int) {
        let query = request.uri.queryParameters
        let count = try UserController.limit(query["limit"].map(String.init), default: 20, maximum: 100)
        guard let text = query["before"].map(String.init), !text.isEmpty else { return (nil, count) }
        guard let cursor = PageCursor(text) else { throw .invalid("before must be a `next` cursor or a time in ms") }
        return (cursor, count)
    }
}

/// `{"<key>": [...], "next": "<cursor>" | null}`.
struct PageAnswer<Item: Encodable>: Encodable {
    var key: String
    var items: [Item]
    var next: String?

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(items, forKey: Key(stringValue: key))
        try container.encode(next, forKey: Key(stringValue: "next"))
    }
}
