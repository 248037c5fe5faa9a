import NIOCore

extension RedisClient {
    /// Sends `command` and then the keyless `followUp` in one write on one
    /// connection, and answers both replies. For `WAIT`, which counts the
    /// replicas that have its own connection's writes: on a cluster both go to
    /// the master of `command`'s slot, and a redirect or a reconnect sends both
    /// again to the master that runs the command (never `WAIT` alone to
    /// another shard). Error replies come back inline as `.error`.
    public func send(_ command: RedisCommand, followedBy followUp: RedisCommand) -> EventLoopFuture<(RedisValue, RedisValue)> {
        if let clusterRouter { return clusterRouter.send(command, followedBy: followUp) }
        return pipeline([command, followUp]).map { ($0[0], $0[1]) }
    }
}
