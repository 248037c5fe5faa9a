import Foundation
import RedisClient
import SwitchboardProtocol

/// Posts, follows, feeds, likes and comments in Redis. Every multi-key write
/// is one script of `lua/post_*.lua` or `lua/follow.lua`; see
/// docs/redis-layout.md for the keys and docs/architecture.md for the two
/// feed paths (fan-out on write, merge on read).
public struct PostService: Sendable {
    let redis: RedisClient
    let scripts: RedisScriptRegistry
    let keys: KeyLayout
    let clock: WallClock
    let configuration: PostsConfiguration
    let live: LiveConfiguration
    let accounts: AccountService
    /// Redis Cluster: `post_fanout` takes one follower per call.
    let redisClusterMode: Bool
    /// `PUBLISH`, or `SPUBLISH` on Redis Cluster (as `SwitchboardConfiguration.publishCommand`).
    let publishCommand: String

    public init(
        redis: RedisClient, scripts: RedisScriptRegistry, keys: KeyLayout, clock: WallClock, configuration: PostsConfiguration,
        live: LiveConfiguration, accounts: AccountService, redisClusterMode: Bool = false
    ) {
        self.redisClusterMode = redisClusterMode
        self.publishCommand = redisClusterMode ? "SPUBLISH" : "PUBLISH"
        self.redis = redis
        self.scripts = scripts
        self.keys = keys
        self.clock = clock
        self.configuration = configuration
        self.live = live
        self.accounts = accounts
    }

    /// Post ids are `p_` + 12 base62 characters; anything else (braces would break the hash tag) is unknown.
    public static func isValidID(_ id: String) -> Bool {
        id.hasPrefix("p_") && id.utf8.count <= 64 && !id.contains("{") && !id.contains("}")
    }

    static func validate(text: String, limit: Int, what: String) throws(SwitchboardError) {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw .invalid("\(what) must not be empty") }
        guard text.utf8.count <= limit else { throw SwitchboardError(.tooLarge, "\(what) over \(limit) bytes") }
    }

    /// Creates a post; fan-out to followers is `fanOut(_:)`, run by the caller after answering.
    public func create(author: String, text: String, attachments: [String] = []) async throws(SwitchboardError) -> Post {
        try Self.validate(text: text, limit: configuration.textLength, what: "text")
        guard attachments.count <= 10, attachments.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 128 }) else {
            throw .invalid("attachments: at most 10 ids of 1 to 128 bytes")
        }
        let post = Post(id: "p_" + RandomID.make(length: 12), author: author, text: text, attachments: attachments, createdAt: clock.milliseconds)
        let attachmentsJSON = String(decoding: (try? JSONEncoder().encode(attachments)) ?? Data("[]".utf8), as: UTF8.self)
        // Two slots, two steps: the post ({P}), then the author's index ({U}).
        // A crash in between leaves a post nobody was told the id of (the
        // request failed); a retry is a new post. See docs/redis-layout.md.
        _ = try await mapRedis {
            try await scripts.evaluate(
                "post_create", keys: [keys.post(post.id)], arguments: [post.id, author, text, attachmentsJSON, post.createdAt])
        }
        _ = try await mapRedis { try await redis.send("ZADD", keys.userPosts(author), post.createdAt, post.id) }
        return post
    }

    /// A post, or 404 `not_found` when it is unknown or deleted.
    public func post(id: String) async throws(SwitchboardError) -> Post {
        guard Self.isValidID(id) else { throw .notFound("post not found") }
        let hash = try await mapRedis { try await redis.send("HGETALL", keys.post(id)) }.stringPairs ?? [:]
        guard let post = Post(hash: hash) else { throw .notFound("post not found") }
        return post
    }

    /// Several posts in one round trip, in the order asked; missing (deleted) ones are left out.
    public func posts(ids: [String]) async throws(SwitchboardError) -> [Post] {
        guard !ids.isEmpty else { return [] }
        let replies = try await mapRedis { try await redis.pipeline(ids.map { RedisCommand("HGETALL", [keys.post($0)]) }) }
        return replies.compactMap { $0.stringPairs.flatMap(Post.init(hash:)) }
    }

    /// Replaces the text of a post (author only).
    public func update(id: String, actor: String, text: String) async throws(SwitchboardError) -> Post {
        guard Self.isValidID(id) else { throw .notFound("post not found") }
        try Self.validate(text: text, limit: configuration.textLength, what: "text")
        let reply = try await mapRedis {
            try await scripts.evaluate("post_update", keys: [keys.post(id)], arguments: [actor, text, clock.milliseconds])
        }
        guard let post = reply.stringPairs.flatMap(Post.init(hash:)) else { throw .notFound("post not found") }
        return post
    }

    /// Deletes a post with its likes and comments (author only). Feeds are
    /// cleaned by `removeFromFeeds(_:author:)`, run by the caller after
    /// answering; until then readers skip the id because its hash is gone.
    public func delete(id: String, actor: String) async throws(SwitchboardError) {
        guard Self.isValidID(id) else { throw .notFound("post not found") }
        // Two slots, two steps: the post's keys ({P}), then the author's index
        // ({U}). Readers skip ids whose hash is gone, and a retry that finds
        // the post gone still removes the id from the actor's own index.
        do {
            _ = try await mapRedis {
                try await scripts.evaluate("post_delete", keys: [keys.post(id), keys.postLikes(id), keys.postComments(id)], arguments: [actor, id])
            }
        } catch  where error.code == .notFound {
            _ = try? await redis.send("ZREM", keys.userPosts(actor), id)
            throw error
        }
        _ = try await mapRedis { try await redis.send("ZREM", keys.userPosts(actor), id) }
    }

    /// A user's posts, newest first.
    public func userPosts(_ user: String, before: PageCursor?, limit: Int) async throws(SwitchboardError) -> Page<Post> {
        let candidates = try await page(of: keys.userPosts(user), before: before, limit: limit)
        let shown = Array(candidates.prefix(limit))
        let posts = try await posts(ids: shown.map(\.id))
        let next = candidates.count > limit ? shown.last : nil
        return Page(items: posts, next: next)
    }

    /// Up to `limit + 1` entries of a sorted set after `before`, newest first.
    func page(of key: String, before: PageCursor?, limit: Int) async throws(SwitchboardError) -> [PageCursor] {
        let slack = 32  // entries sharing the cursor's millisecond, skipped below
        let reply = try await mapRedis {
            try await redis.send(
                "ZREVRANGEBYSCORE", key, before.map { String($0.score) } ?? "+inf", "-inf", "WITHSCORES", "LIMIT", 0, limit + 1 + slack)
        }
        let flat = reply.array ?? []
        var entries: [PageCursor] = []
        var index = 0
        while index + 1 < flat.count {
            if let id = flat[index].string, let score = flat[index + 1].double {
                let entry = PageCursor(score: Int(score), id: id)
                if before.map({ $0.isBefore(score: entry.score, id: id) }) ?? true { entries.append(entry) }
            }
            index += 2
        }
        return Array(entries.prefix(limit + 1))
    }
}
