import Foundation
import FoundationEssentials
import RedisClient
import SwitchboardProtocol

extension PostService {
    /// What a like or unlike did.
    public struct LikeResult: Sendable, Hashable {
        /// Whether the user's like state changed (false for a repeated like).
        public var changed: Bool
        public var likes: Int
        /// The post's author, to notify.
        public var author: String
    }

    /// Likes (`true`) or unlikes a post; idempotent, counted by `post_like.lua`.
    public func like(_ id: String, actor: String, _ like: Bool) async throws(SwitchboardError) -> LikeResult {
        guard Self.isValidID(id) else { throw .notFound("post not found") }
        let reply = try await mapRedis {
            try await scripts.evaluate("post_like", keys: [keys.post(id), keys.postLikes(id)], arguments: [actor, like ? "1" : "0"])
        }
        let values = reply.array ?? []
        guard values.count == 3 else { throw SwitchboardError(.internalError, "unexpected reply from post_like") }
        return LikeResult(changed: values[0].int == 1, likes: values[1].int ?? 0, author: values[2].string ?? "")
    }

    /// Adds a comment; returns it with the post's author (to notify).
    public func comment(on id: String, actor: String, text: String) async throws(SwitchboardError) -> (PostComment, author: String) {
        guard Self.isValidID(id) else { throw .notFound("post not found") }
        try Self.validate(text: text, limit: configuration.commentLength, what: "text")
        let now = clock.milliseconds
        let reply = try await mapRedis {
            try await scripts.evaluate("post_comment", keys: [keys.post(id), keys.postComments(id)], arguments: [actor, text, now])
        }
        let values = reply.array ?? []
        guard values.count == 3, let commentID = values[0].string else {
            throw SwitchboardError(.internalError, "unexpected reply from post_comment")
        }
        return (PostComment(id: commentID, post: id, from: actor, text: text, ts: now), values[2].string ?? "")
    }

    /// A post's comments, newest first; `before` is a comment id (exclusive).
    public func comments(on id: String, before: String?, limit: Int) async throws(SwitchboardError) -> (comments: [PostComment], next: String?) {
        _ = try await post(id: id)  // 404 for unknown or deleted posts
        // A stream id Redis accepts (`before=` or 20 nines made Redis fail the command: a 500).
        let end: String
        if let before {
            guard let position = ConversationService.streamID(before) else { throw .invalid("before must be a comment id") }
            // Nothing lies before 0-0 (Redis refuses that exclusive bound).
            if position == (0, 0) { return ([], nil) }
            end = "(" + before
        } else {
            end = "+"
        }
        let reply = try await mapRedis {
            try await redis.send("XREVRANGE", keys.postComments(id), end, "-", "COUNT", limit + 1)
        }
        let entries = (reply.array ?? []).compactMap { entry -> PostComment? in
            guard let parts = entry.array, parts.count == 2, let commentID = parts[0].string, let fields = parts[1].stringPairs else {
                return nil
            }
            return PostComment(
                id: commentID, post: id, from: fields["from"] ?? "", text: fields["text"] ?? "", ts: fields["ts"].flatMap { Int($0) } ?? 0)
        }
        let shown = Array(entries.prefix(limit))
        return (shown, entries.count > limit ? shown.last?.id : nil)
    }

    /// Deletes a comment (its author or the post's author).
    public func deleteComment(_ commentID: String, on id: String, actor: String) async throws(SwitchboardError) {
        guard Self.isValidID(id) else { throw .notFound("post not found") }
        _ = try await mapRedis {
            try await scripts.evaluate("post_comment_delete", keys: [keys.post(id), keys.postComments(id)], arguments: [actor, commentID])
        }
    }

    /// Stores (or updates) the author's coalesced notification for activity
    /// on a post: `post.liked`, `post.commented`, `post.shared`. Nothing for
    /// the author's own actions. `count` overrides the number shown (likes).
    public func notifyAuthor(_ author: String, type: String, post: String, actor: String, count: Int? = nil) async throws(SwitchboardError) {
        guard !author.isEmpty, author != actor else { return }
        _ = try await mapRedis {
            try await scripts.evaluate(
                "post_notify", keys: [keys.notifications(author), keys.sockets(author), keys.user(author)],
                arguments: [
                    type, post, actor, clock.milliseconds, live.notificationsKept, live.notificationTTL, keys.userChannel(author),
                    count.map(String.init) ?? "",
                ])
        }
    }
}
