import Foundation
import NIOCore
import RedisClient

/// Presence and socket mapping as TTL keys (`sb:presence:{U}`,
/// `sb:sockets:{U}`), kept alive by each node's heartbeat, so a node that
/// dies leaves nothing behind.
public struct PresenceService: Sendable {
    let redis: RedisClient
    let scripts: RedisScriptRegistry
    let keys: KeyLayout
    let clock: WallClock
    let configuration: LiveConfiguration
    let events: EventStream

    var ttlSeconds: Int { max(1, Int(configuration.presenceTTL.rounded(.up))) }
    var ttlMilliseconds: Int { Int(configuration.presenceTTL * 1000) }

    private func userKeys(_ user: String) -> [any RedisArgumentConvertible] {
        [keys.sockets(user), keys.presence(user), keys.user(user)]
    }

    /// A connection opened: answers the user's status. The user joins the
    /// node's user list at once (not only at the next heartbeat), so a node
    /// that dies right after still gets its users published offline, and
    /// leaves the offline set of each of `conversations` (theirs).
    public func connect(user: String, member: String, conversations: [String] = []) async throws(SwitchboardError) -> String {
        let now = clock.milliseconds
        let node = member.split(separator: "/").first.map(String.init) ?? member
        // Both at once: one round trip of waiting.
        let indexed: EventLoopFuture<[RedisValue]> = redis.pipeline(
            [RedisCommand("SADD", [keys.nodeUsers(node), user])]
                + conversations.map { RedisCommand("SREM", [keys.offline($0), user]) })
        let status =
            try await mapRedis {
                try await scripts.evaluate(
                    "presence_connect", keys: userKeys(user),
                    arguments: [member, now, now + ttlMilliseconds, ttlSeconds, keys.presenceChannel(user), user], events: events)
            }.string ?? "online"
        _ = try await mapRedis { try await indexed.get() }
        return status
    }

    /// What `connect(user:member:conversations:followedBy:)` answers.
    public struct Connected: Sendable {
        /// The user's status (kept if they were online already).
        public var status: String
        /// The user's open connections on every node, this one included
        /// (entries of crashed nodes count until they expire).
        public var connections: Int
        /// The replies of the `followedBy` commands, in order.
        public var followUps: [RedisValue]
    }

    /// A connection opened, in one write: `presence_connect`, then on the
    /// same connection the user's connection count, the node's user list and
    /// the offline sets of `conversations` (as `connect` does), then `reads`
    /// (which see the script's effects). Error replies of `reads` stay inline.
    public func connect(
        user: String, member: String, conversations: [String], followedBy reads: [RedisCommand]
    ) -> EventLoopFuture<Connected> {
        let now = clock.milliseconds
        let node = member.split(separator: "/").first.map(String.init) ?? member
        let commands =
            [RedisCommand("ZCOUNT", [keys.sockets(user), now, "+inf"]), RedisCommand("SADD", [keys.nodeUsers(node), user])]
            + conversations.map { RedisCommand("SREM", [keys.offline($0), user]) } + reads
        return scripts.evaluate(
            "presence_connect", keys: events.keys(userKeys(user)),
            arguments: events.arguments([member, now, now + ttlMilliseconds, ttlSeconds, keys.presenceChannel(user), user]),
            followedBy: commands
        ).flatMapThrowing { replies in
            if let message = replies.script.errorMessage { throw SwitchboardError(redis: RedisError.server(message)) }
            return Connected(
                status: replies.script.string ?? "online", connections: replies.followUps[0].int ?? 0,
                followUps: Array(replies.followUps.suffix(reads.count)))
        }
    }

    /// A connection closed: answers how many are left (0 = now offline: the
    /// user goes into the offline sets of their conversations).
    @discardableResult
    public func disconnect(user: String, member: String) async throws(SwitchboardError) -> Int {
        let left =
            try await mapRedis {
                try await scripts.evaluate(
                    "presence_disconnect", keys: userKeys(user),
                    arguments: [clock.milliseconds, keys.presenceChannel(user), user, "member", member], events: events)
            }.int ?? 0
        if left == 0 { try await markOffline([user]) }
        return left
    }

    /// A connected user was added to a conversation: out of its offline set.
    public func joined(user: String, conversation: String) -> EventLoopFuture<Void> {
        redis.send(RedisCommand("SREM", [keys.offline(conversation), user])).map { _ in }
    }

    /// Removes every entry of `node` for these users (a dead or stopping node), in one pipeline.
    public func disconnectNode(_ node: String, users: [String]) async throws(SwitchboardError) {
        guard !users.isEmpty else { return }
        let now = clock.milliseconds
        let calls = users.map { user in
            RedisScriptRegistry.Call(
                "presence_disconnect", keys: userKeys(user),
                arguments: [now, keys.presenceChannel(user), user, "node", node], events: events)
        }
        let left = try await mapRedis { try await scripts.pipeline(calls) }
        try await markOffline(zip(users, left).filter { $0.1.int == 0 }.map(\.0))
    }

    /// Users refreshed per pipeline by `refresh`.
    public static let refreshBatch = 128

    /// The heartbeat of every local connection (user → "node/connection"
    /// members), in pipelines of `refreshBatch` users, one after the other.
    /// One pipeline for thousands of users held Redis and the pooled
    /// connection it went out on for tens of milliseconds, and the sends
    /// queued behind it (BENCHMARKS.md, "sweep-conns").
    public func refresh(_ connections: [String: [String]]) async throws(SwitchboardError) {
        guard !connections.isEmpty else { return }
        let now = clock.milliseconds
        let expiry = now + ttlMilliseconds
        let entries = Array(connections)
        for start in stride(from: 0, to: entries.count, by: Self.refreshBatch) {
            let calls = entries[start..<min(start + Self.refreshBatch, entries.count)].map { user, members in
                RedisScriptRegistry.Call(
                    "presence_refresh", keys: [keys.sockets(user), keys.presence(user)],
                    arguments: [now, expiry, ttlSeconds, keys.presenceChannel(user), user] + members)
            }
            _ = try await mapRedis { try await scripts.pipeline(calls) }
        }
    }

    /// Sets the status of all the user's connections.
    public func setStatus(user: String, status: PresenceStatus) async throws(SwitchboardError) {
        guard PresenceStatus.settable.contains(status) else { throw .invalid("status must be online, away or busy") }
        _ = try await mapRedis {
            try await scripts.evaluate(
                "presence_status", keys: [keys.presence(user), keys.sockets(user)],
                arguments: [status.rawValue, clock.milliseconds, keys.presenceChannel(user), user])
        }
    }

    /// Presence of several users in one round trip.
    public func presence(of users: [String]) async throws(SwitchboardError) -> [String: Presence] {
        guard !users.isEmpty else { return [:] }
        var commands: [RedisCommand] = []
        for user in users {
            commands.append(RedisCommand("HGET", [keys.presence(user), "status"]))
            commands.append(RedisCommand("HGET", [keys.user(user), "lastSeen"]))
        }
        let replies = try await mapRedis { try await redis.pipeline(commands) }
        var result: [String: Presence] = [:]
        for (index, user) in users.enumerated() {
            result[user] = Presence(
                status: replies[index * 2].string.flatMap(PresenceStatus.init(rawValue:)) ?? .offline, lastSeen: replies[index * 2 + 1].int)
        }
        return result
    }

    // MARK: The conversations' offline sets (`sb:conv:{C}:offline`, read by `send`)

    /// A user's last connection closed: into the offline set of each of
    /// their direct and group conversations (read from their index).
    func markOffline(_ users: [String]) async throws(SwitchboardError) {
        guard !users.isEmpty else { return }
        let lists = try await mapRedis {
            try await redis.pipeline(users.map { RedisCommand("SMEMBERS", [keys.userConversations($0)]) })
        }
        var calls: [RedisScriptRegistry.Call] = []
        for (user, list) in zip(users, lists) {
            for conversation in list.array?.compactMap(\.string) ?? [] {
                calls.append(
                    RedisScriptRegistry.Call(
                        "offline", keys: [keys.conversation(conversation), keys.members(conversation), keys.offline(conversation)],
                        arguments: [user]))
            }
        }
        guard !calls.isEmpty else { return }
        _ = try await mapRedis { try await scripts.pipeline(calls) }
    }

    // MARK: Nodes

    /// Refreshes this node's key, its entry among live nodes and its user list.
    public func nodeHeartbeat(
        node: String, address: String, started: Int, connections: Int, users: [String], messagesPerSecond: Double = 0
    ) async throws(SwitchboardError) {
        let now = clock.milliseconds
        var commands = [
            RedisCommand(
                "HSET",
                [
                    keys.node(node), "id", node, "address", address, "started", started, "connections", connections, "heartbeat", now,
                    "messagesPerSecond", (messagesPerSecond * 100).rounded() / 100,
                ]),
            RedisCommand("EXPIRE", [keys.node(node), ttlSeconds]),
            RedisCommand("ZADD", [keys.nodes, now, node]),
        ]
        if !users.isEmpty {
            commands.append(RedisCommand("SADD", [keys.nodeUsers(node)] + users))
        }
        commands.append(RedisCommand("EXPIRE", [keys.nodeUsers(node), ttlSeconds * 10]))
        _ = try await mapRedis { try await redis.pipeline(commands) }
    }

    /// Finds nodes whose heartbeat stopped and cleans up after each (once,
    /// whichever node claims it): their users' entries go, and those left
    /// without a connection are published offline. Answers the swept nodes.
    @discardableResult
    public func sweepDeadNodes(except me: String) async throws(SwitchboardError) -> [String] {
        let cutoff = clock.milliseconds - ttlMilliseconds
        let dead =
            try await mapRedis { try await redis.send("ZRANGEBYSCORE", keys.nodes, "-inf", "(\(cutoff)") }
            .array?.compactMap(\.string).filter { $0 != me } ?? []
        var swept: [String] = []
        for node in dead {
            let claimed = try await mapRedis { try await redis.send("SET", keys.nodeSweep(node), me, "NX", "EX", 60) }
            guard !claimed.isNull else { continue }
            try await removeNode(node)
            swept.append(node)
        }
        return swept
    }

    /// Removes a node's entries: its users' connections, its key, its lists.
    /// Each key is in a slot of its own (one command each, for Redis Cluster),
    /// and `sb:nodes` goes last: a sweep that stops half-way leaves the node
    /// listed, so the next sweep finds it dead and does it all again.
    public func removeNode(_ node: String) async throws(SwitchboardError) {
        let users = try await mapRedis { try await redis.send("SMEMBERS", keys.nodeUsers(node)) }.array?.compactMap(\.string) ?? []
        try await disconnectNode(node, users: users)
        _ = try await mapRedis {
            try await redis.pipeline([
                RedisCommand("DEL", [keys.node(node)]),
                RedisCommand("DEL", [keys.nodeUsers(node)]),
                RedisCommand("ZREM", [keys.nodes, node]),
            ])
        }
    }
}
