import RedisClient

/// One entry of the event stream: its stream id and the event's JSON text
/// (`{"type","ts","data"}`), exactly as the script wrote it.
public struct EventEntry: Sendable, Hashable {
    /// The stream entry id (`<ms>-<n>`), also the event's id for consumers.
    public var id: String
    /// The `event` field: `{"type": ..., "ts": <ms>, "data": {...}}`.
    public var json: String
    /// How often the entry was delivered to a consumer of the group (XAUTOCLAIM / XPENDING); 0 when unknown.
    public var deliveries: Int = 0

    public init(id: String, json: String, deliveries: Int = 0) {
        self.id = id
        self.json = json
        self.deliveries = deliveries
    }

    /// The event as one JSON object with the entry id added first: `{"id":"…","type":…}`.
    public var line: String {
        guard json.first == "{" else { return json }
        return "{\"id\":\"\(id)\"," + json.dropFirst()
    }

    /// Entries from an `XRANGE`/`XREAD` array of `[id, [field, value, …]]`.
    static func entries(_ value: RedisValue?) -> [EventEntry] {
        (value?.array ?? []).compactMap { entry in
            guard let parts = entry.array, parts.count == 2, let id = parts[0].string, let fields = parts[1].array else { return nil }
            var index = 0
            while index + 1 < fields.count {
                if fields[index].string == "event", let json = fields[index + 1].string { return EventEntry(id: id, json: json) }
                index += 2
            }
            return nil
        }
    }
}

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

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
