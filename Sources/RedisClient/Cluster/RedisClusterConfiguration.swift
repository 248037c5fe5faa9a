import NIOCore

/// Where to find a Redis Cluster: a few seed nodes (any one that answers
/// `CLUSTER SHARDS` is enough), and how the client follows it.
///
/// Credentials, database 0, timeouts, pool size and TLS come from the
/// surrounding `RedisConfiguration` and apply to every node.
public struct RedisClusterConfiguration: Sendable, Hashable {
    /// Seed nodes, masters or replicas.
    public var seeds: [RedisConfiguration.Address]
    /// How often the slot map is read again even when nothing went wrong.
    public var refreshInterval: TimeAmount = .seconds(15)
    /// How many redirects (`MOVED`, `ASK`, `TRYAGAIN`) or reconnects one
    /// request may follow before it fails with `clusterDown`.
    public var maxRedirects: Int = 5

    public init(seeds: [RedisConfiguration.Address]) {
        self.seeds = seeds
    }

    /// Parses `host:port,host:port` (the port defaults to 6379; `[v6]:port` for IPv6).
    public static func addresses(_ text: String) throws(RedisError) -> [RedisConfiguration.Address] {
        try RedisSentinelConfiguration.addresses(text, defaultPort: 6379, what: "cluster seed")
    }
}
