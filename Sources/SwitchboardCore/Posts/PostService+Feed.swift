import RedisClient
import SwitchboardProtocol

extension PostService {
    /// What one fan-out did, for logs and benchmarks.
    public struct FanoutResult: Sendable, Hashable {
        /// `true`: written into each follower's feed; `false`: merged at read time.
        public var pushed: Bool
        public var followers: Int
        public var feedsWritten: Int
        /// Fan-out: one `post` event per follower with a live socket; read
        /// time: 1, the one broadcast on `postsChannel`.
        public var eventsPublished: Int
    }

    /// Spreads a new post: into the author's own feed, then, for an author
    /// with at most `feedFanoutMax` followers, into each follower's feed
    /// (one `post_fanout` call per batch), which also publishes
    /// `{"ev":"post"}` on the user channel of each of them with a live
    /// socket. A bigger author is added to the read-time set instead, and the
    /// event is published once on `postsChannel`: each node hands it to the
    /// local sessions of the author's followers (`FanoutHub`), so the cost
    /// follows the users online, not the followers.
    @discardableResult
    public func fanOut(_ post: Post) async throws(SwitchboardError) -> FanoutResult {
        let author = post.author
        let count = try await mapRedis { try await redis.send("ZCARD", keys.followers(author)) }.int ?? 0
        let pushed = count <= configuration.feedFanoutMax
        // The author's own feed (no live event: the author made the post).
        _ = try await batch(mode: "add", post: post.id, score: post.createdAt, users: [author], payload: "")
        if !pushed {
            _ = try await mapRedis { try await redis.send("SADD", keys.pullAuthors, author) }
        }
        var result = FanoutResult(pushed: pushed, followers: count, feedsWritten: 1, eventsPublished: 0)
        let payload = post.eventJSON
        guard pushed else {
            _ = try await mapRedis { try await redis.send(publishCommand, keys.postsChannel, payload) }
            result.eventsPublished = 1
            return result
        }
        try await forEachFollowerBatch(of: author) { (users) throws(SwitchboardError) in
            let (written, published) = try await batch(mode: "add", post: post.id, score: post.createdAt, users: users, payload: payload)
            result.feedsWritten += written
            result.eventsPublished += published
        }
        return result
    }

    /// Takes a deleted post out of the author's and the followers' feeds.
    public func removeFromFeeds(_ postID: String, author: String) async throws(SwitchboardError) {
        _ = try await batch(mode: "remove", post: postID, score: 0, users: [author], payload: "")
        try await forEachFollowerBatch(of: author) { (users) throws(SwitchboardError) in
            _ = try await batch(mode: "remove", post: postID, score: 0, users: users, payload: "")
        }
    }

    /// Walks the followers zset in batches of `fanoutBatch` (ZRANGE by rank:
    /// a follow or unfollow meanwhile may shift one batch; the feed is best effort).
    func forEachFollowerBatch(
        of author: String, _ body: ([String]) async throws(SwitchboardError) -> Void
    ) async throws(SwitchboardError) {
        let size = max(1, configuration.fanoutBatch)
        var start = 0
        while true {
            let users =
                try await mapRedis {
                    try await redis.send("ZRANGE", keys.followers(author), start, start + size - 1)
                }.array?.compactMap(\.string) ?? []
            if users.isEmpty { return }
            try await body(users)
            if users.count < size { return }
            start += size
        }
    }

    /// The read-time authors `user` follows, oldest follow first. Two
    /// single-key reads (`SMEMBERS` of the small set of read-time authors,
    /// `ZMSCORE` of them in the user's following), not `ZINTER`: the two keys
    /// are in different slots on Redis Cluster.
    func followedPullAuthors(of user: String) async throws(SwitchboardError) -> [String] {
        let authors = try await mapRedis { try await redis.send("SMEMBERS", keys.pullAuthors) }.array?.compactMap(\.string) ?? []
        guard !authors.isEmpty else { return [] }
        let scores = try await mapRedis { try await redis.execute(RedisCommand("ZMSCORE", [keys.following(user)] + authors)) }.array ?? []
        let followed = zip(authors, scores).compactMap { author, score in score.double.map { (author, $0) } }
        return followed.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.0)
    }

    /// One `post_fanout` of `users`. On Redis Cluster each follower's keys are
    /// in a slot of their own: one call per follower, all pipelined, the replies summed.
    func batch(mode: String, post: String, score: Int, users: [String], payload: String) async throws(SwitchboardError) -> (Int, Int) {
        if redisClusterMode, users.count > 1 {
            let calls = users.map { user in
                RedisScriptRegistry.Call(
                    "post_fanout", keys: [keys.feed(user), keys.sockets(user)],
                    arguments: [mode, post, score, configuration.feedSize, clock.milliseconds, payload, keys.userChannel(user)])
            }
            let replies = try await mapRedis { try await scripts.pipeline(calls) }
            var total = (0, 0)
            for reply in replies {
                if let message = reply.errorMessage { throw SwitchboardError(redis: RedisError.server(message)) }
                let values = reply.array ?? []
                total.0 += values.first?.int ?? 0
                total.1 += values.count > 1 ? values[1].int ?? 0 : 0
            }
            return total
        }
        var keyList: [any RedisArgumentConvertible] = []
        var arguments: [any RedisArgumentConvertible] = [mode, post, score, configuration.feedSize, clock.milliseconds, payload]
        for user in users {
            keyList += [keys.feed(user), keys.sockets(user)]
            arguments.append(keys.userChannel(user))
        }
        let reply = try await mapRedis { try await scripts.evaluate("post_fanout", keys: keyList, arguments: arguments) }
        let values = reply.array ?? []
        return (values.first?.int ?? 0, values.count > 1 ? values[1].int ?? 0 : 0)
    }

    /// The posts of the people `user` follows and their own, newest first:
    /// the user's feed zset merged with the posts of followed read-time
    /// authors. Ids whose post is gone (deleted) are skipped and dropped from the feed.
    public func feed(user: String, before: PageCursor?, limit: Int) async throws(SwitchboardError) -> Page<Post> {
        var candidates = try await page(of: keys.feed(user), before: before, limit: limit)
        let pull = try await followedPullAuthors(of: user)
        for author in pull.prefix(configuration.pullAuthorsPerRead) {
            candidates += try await page(of: keys.userPosts(author), before: before, limit: limit)
        }
        var seen = Set<String>()
        let merged = candidates.sorted { ($0.score, $0.id) > ($1.score, $1.id) }.filter { seen.insert($0.id).inserted }
        let shown = Array(merged.prefix(limit))
        let posts = try await posts(ids: shown.map(\.id))
        let found = Set(posts.map(\.id))
        let gone = shown.map(\.id).filter { !found.contains($0) }
        if !gone.isEmpty {
            _ = try? await redis.execute(RedisCommand("ZREM", [keys.feed(user)] + gone))
        }
        return Page(items: posts, next: merged.count > limit ? shown.last : nil)
    }
}
