import RedisClient
import SwitchboardProtocol

extension PostService {
    /// Follows (`true`) or unfollows `target`. `follow.lua` writes the
    /// target's followers zset; the actor's following zset (another slot) is
    /// the follow-up. Unfollowing keeps the posts already in the feed.
    /// Returns whether anything changed.
    @discardableResult
    public func follow(_ target: String, actor: String, _ follow: Bool) async throws(SwitchboardError) -> Bool {
        guard target != actor else { throw .invalid("you cannot follow yourself") }
        guard !target.isEmpty, target.utf8.count <= 128, !target.contains("{"), !target.contains("}") else {
            throw .notFound("user not found")
        }
        let now = clock.milliseconds
        let reply = try await mapRedis {
            try await scripts.evaluate(
                "follow", keys: [keys.user(target), keys.followers(target)], arguments: [actor, follow ? "1" : "0", now])
        }
        let changed = reply.array?.first?.int == 1
        // Repeated even when nothing changed, so a failed follow-up heals on retry.
        _ = try await mapRedis {
            follow
                ? try await redis.send("ZADD", keys.following(actor), "NX", now, target)
                : try await redis.send("ZREM", keys.following(actor), target)
        }
        return changed
    }

    /// Follower and following counts of several users, in one round trip.
    public func counts(of ids: [String]) async throws(SwitchboardError) -> [String: (followers: Int, following: Int)] {
        guard !ids.isEmpty else { return [:] }
        let replies = try await mapRedis {
            try await redis.pipeline(ids.flatMap { [RedisCommand("ZCARD", [keys.followers($0)]), RedisCommand("ZCARD", [keys.following($0)])] })
        }
        var result: [String: (followers: Int, following: Int)] = [:]
        for (index, id) in ids.enumerated() {
            result[id] = (replies[2 * index].int ?? 0, replies[2 * index + 1].int ?? 0)
        }
        return result
    }

    /// A user with follower and following counts set.
    public func withCounts(_ user: User) async throws(SwitchboardError) -> User {
        var user = user
        let counts = try await counts(of: [user.id])[user.id]
        user.followers = counts?.followers ?? 0
        user.following = counts?.following ?? 0
        return user
    }

    /// Who follows `user` (`followers: true`) or whom `user` follows, most recent first.
    public func follows(of user: String, followers: Bool, before: PageCursor?, limit: Int) async throws(SwitchboardError) -> Page<User> {
        let key = followers ? keys.followers(user) : keys.following(user)
        let entries = try await page(of: key, before: before, limit: limit)
        let shown = Array(entries.prefix(limit))
        let users = try await accounts.users(ids: shown.map(\.id))
        return Page(items: shown.compactMap { users[$0.id] }, next: entries.count > limit ? shown.last : nil)
    }
}
