import RedisClient

/// Reads the event stream the way a backend consumer does: plain `XREAD`,
/// or a consumer group (`XREADGROUP`, `XACK`, `XAUTOCLAIM`), so every event
/// reaches one consumer of the group at least once.
///
/// Blocking reads hold their connection: give the reader a client of its own
/// (pool size 1), with a block time below the client's request timeout.
public struct EventReader: Sendable {
    let redis: RedisClient
    /// The stream key (`sb:events`).
    public let stream: String

    public init(redis: RedisClient, stream: String) {
        self.redis = redis
        self.stream = stream
    }

    /// Creates the consumer group if it does not exist, reading from `start`
    /// (`$`: only new events; `0`: everything the stream holds).
    public func createGroup(_ group: String, start: String = "$") async throws {
        do {
            try await redis.send("XGROUP", "CREATE", stream, group, start, "MKSTREAM")
        } catch let error as RedisError where error.message.hasPrefix("BUSYGROUP") {
            return
        }
    }

    /// New events for `consumer` of `group` (`>`), waiting up to `blockMilliseconds` (nil: not at all).
    public func read(group: String, consumer: String, count: Int = 100, blockMilliseconds: Int? = nil) async throws -> [EventEntry] {
        var arguments: [any RedisArgumentConvertible] = ["GROUP", group, consumer, "COUNT", count]
        if let blockMilliseconds { arguments += ["BLOCK", blockMilliseconds] }
        let reply = try await redis.execute(RedisCommand("XREADGROUP", arguments + ["STREAMS", stream, ">"]))
        return EventEntry.entries(reply.array?.first?.array?[safe: 1])
    }

    /// Events after `id` (`$`: only those appended from now on), without a group.
    public func read(after id: String, count: Int = 100, blockMilliseconds: Int? = nil) async throws -> [EventEntry] {
        var arguments: [any RedisArgumentConvertible] = ["COUNT", count]
        if let blockMilliseconds { arguments += ["BLOCK", blockMilliseconds] }
        let reply = try await redis.execute(RedisCommand("XREAD", arguments + ["STREAMS", stream, id]))
        return EventEntry.entries(reply.array?.first?.array?[safe: 1])
    }

    /// Acknowledges handled events: they leave the group's pending list.
    public func acknowledge(group: String, ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        try await redis.execute(RedisCommand("XACK", [stream, group] + ids))
    }

    /// Takes over events another consumer read but did not acknowledge
    /// within `minIdleMilliseconds` (a crashed or stuck consumer), with how
    /// often each was delivered so far.
    public func claim(group: String, consumer: String, minIdleMilliseconds: Int, count: Int = 100) async throws -> [EventEntry] {
        let reply = try await redis.send("XAUTOCLAIM", stream, group, consumer, minIdleMilliseconds, "0", "COUNT", count)
        var entries = EventEntry.entries(reply.array?[safe: 1])
        guard !entries.isEmpty else { return [] }
        // Delivery counts of the claimed entries (XPENDING over their range).
        let pending = try await redis.send("XPENDING", stream, group, entries.first!.id, entries.last!.id, entries.count * 4, consumer)
        var counts: [String: Int] = [:]
        for item in pending.array ?? [] {
            if let parts = item.array, parts.count == 4, let id = parts[0].string { counts[id] = parts[3].int ?? 0 }
        }
        for index in entries.indices { entries[index].deliveries = counts[entries[index].id] ?? 0 }
        return entries
    }
}
