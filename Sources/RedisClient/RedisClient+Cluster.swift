import NIOCore

/// What the rest of the code needs to know about cluster mode.
extension RedisClient {
    /// Whether the client talks to a Redis Cluster (`--redis-cluster`).
    public var isCluster: Bool { clusterRouter != nil }

    /// The command that publishes to the subscribers of `subscriptionKind`:
    /// `SPUBLISH` on a cluster (sharded pub/sub: the channel lives on the
    /// shard of its slot, so publish it from a script whose keys share the
    /// channel's hash tag), `PUBLISH` on one Redis.
    public var publishCommand: String { isCluster ? "SPUBLISH" : "PUBLISH" }

    /// How subscribers subscribe: `.shard` (`SSUBSCRIBE`) on a cluster, `.channel` on one Redis.
    public var subscriptionKind: RedisSubscriptionKind { isCluster ? .shard : .channel }

    /// The masters to run a keyless walk on (`SCAN`, `INFO`, `DBSIZE`): every
    /// master of the cluster, or the one server.
    public func masters() async throws -> [RedisConfiguration.Address] {
        if let clusterRouter { return try await clusterRouter.masters().get() }
        return [configuration.address]
    }

    /// Sends a keyless command to every master (one Redis: to it), e.g. one
    /// `SCAN` step per shard; replies in the order of `masters()`.
    public func sendToEveryMaster(_ command: RedisCommand) async throws -> [RedisValue] {
        if let clusterRouter { return try await clusterRouter.sendToEveryMaster(command).get() }
        return [try await send(command).get()]
    }

    /// Sends a command to one master, named by address (a `SCAN` cursor
    /// belongs to the master that gave it). One Redis: to it.
    public func send(_ command: RedisCommand, to master: RedisConfiguration.Address) async throws -> RedisValue {
        guard let clusterRouter else { return try await send(command).get() }
        return try await clusterRouter.pool(for: master).send([command]).get()[0]
    }
}
