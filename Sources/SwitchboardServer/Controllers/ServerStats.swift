import NIOCore
import RedisClient
import SwitchboardCore

/// `GET /api/v1/server/stats`: read from what Redis already holds.
struct ServerStats: Encodable {
    struct Node: Encodable {
        var id: String
        var address: String?
        var connections: Int
        var messagesPerSecond: Double
        var started: Int?
        var heartbeat: Int?
    }

    /// Live nodes (heartbeat within one presence TTL) with their authenticated connections.
    var nodes: [Node]
    /// Users with at least one live connection.
    var usersOnline: Int
    /// Conversations in Redis (a SCAN of the keyspace: admin use, not a hot path).
    var conversations: Int
    /// Messages stored per second, summed over the nodes (each measured between its last two heartbeats).
    var messagesPerSecond: Double
    /// Entries in the event stream (0 when events are off).
    var events: Int

    static func read(_ switchboard: Switchboard) async throws -> ServerStats {
        let redis = switchboard.redis
        let keys = switchboard.keys
        let cutoff = switchboard.clock.milliseconds - Int(switchboard.configuration.live.presenceTTL * 1000)
        let ids = try await redis.send("ZRANGEBYSCORE", keys.nodes, cutoff, "+inf").array?.compactMap(\.string) ?? []
        let hashes = ids.isEmpty ? [] : try await redis.pipeline(ids.map { RedisCommand("HGETALL", [keys.node($0)]) }).get()
        var nodes: [Node] = []
        for (id, reply) in zip(ids, hashes) {
            let hash = reply.stringPairs ?? [:]
            nodes.append(
                Node(
                    id: id, address: hash["address"], connections: hash["connections"].flatMap { Int($0) } ?? 0,
                    messagesPerSecond: hash["messagesPerSecond"].flatMap { Double($0) } ?? 0,
                    started: hash["started"].flatMap { Int($0) }, heartbeat: hash["heartbeat"].flatMap { Int($0) }))
        }
        // Users online: those listed by a live node whose presence key exists.
        var users: [String] = []
        if !ids.isEmpty {
            // One SMEMBERS per node, not SUNION: each list is in a slot of its own (Redis Cluster).
            let lists = try await redis.pipeline(ids.map { RedisCommand("SMEMBERS", [keys.nodeUsers($0)]) }).get()
            users = Array(Set(lists.flatMap { $0.array?.compactMap(\.string) ?? [] }))
        }
        var online = 0
        if !users.isEmpty {
            let exists = try await redis.pipeline(users.map { RedisCommand("EXISTS", [keys.presence($0)]) }).get()
            online = exists.filter { $0.int == 1 }.count
        }
        // SCAN walks one server's keys: on a cluster, every master's.
        var conversations = 0
        for master in try await redis.masters() {
            var cursor = "0"
            repeat {
                let scan = RedisCommand("SCAN", [cursor, "MATCH", keys.conversation("*"), "COUNT", 1000, "TYPE", "hash"])
                let reply = try await redis.send(scan, to: master).throwingError()
                cursor = reply.array?.first?.string ?? "0"
                conversations += reply.array?.last?.array?.count ?? 0
            } while cursor != "0"
        }
        // On a cluster, the per-slot streams (`EventStream`) together.
        let events = try await EventStreamLocator(redis: redis, keys: keys, perSlot: switchboard.events.perSlot).length()
        return ServerStats(
            nodes: nodes.sorted { $0.id < $1.id }, usersOnline: online, conversations: conversations,
            messagesPerSecond: nodes.reduce(0) { $0 + $1.messagesPerSecond }, events: events)
    }
}
