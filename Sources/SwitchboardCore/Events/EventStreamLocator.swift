import RedisClient

/// Which streams hold events: `sb:events` on one Redis; on Redis Cluster
/// the per-slot streams (`sb:events:{<tag>}`, see `EventStream`) that
/// exist, since a stream is created by its first `XADD`.
///
/// On a cluster it asks `EXISTS` of every one of the 16,384 possible names,
/// pipelined (one batch per master): a fixed cost, whatever the size of the
/// keyspace, where a `SCAN` would walk every key.
public struct EventStreamLocator: Sendable {
    let redis: RedisClient
    let keys: KeyLayout
    /// Whether events are one stream per slot (`EventStream.perSlot`: a cluster).
    public let perSlot: Bool

    public init(redis: RedisClient, keys: KeyLayout, perSlot: Bool) {
        self.redis = redis
        self.keys = keys
        self.perSlot = perSlot
    }

    /// The streams to read, in slot order on a cluster.
    public func streams() async throws -> [String] {
        guard perSlot else { return [keys.events] }
        let names = (0..<RedisHashSlot.count).map { keys.events(slot: $0) }
        let replies = try await redis.pipeline(names.map { RedisCommand("EXISTS", [$0]) })
        if let error = replies.first(where: { $0.errorMessage != nil })?.errorMessage { throw RedisError.server(error) }
        return zip(names, replies).filter { $0.1.int == 1 }.map(\.0)
    }

    /// Entries in all the streams (`XLEN` summed).
    public func length() async throws -> Int {
        let streams = try await streams()
        guard !streams.isEmpty else { return 0 }
        let replies = try await redis.pipeline(streams.map { RedisCommand("XLEN", [$0]) })
        return replies.reduce(0) { $0 + ($1.int ?? 0) }
    }
}
