import NIOCore
import RedisClient

extension SwitchboardConfiguration {
    /// The Redis client's configuration: the URL, the pool size, TLS (for
    /// `rediss://`), Sentinel and Cluster. The pool and the subscriber both start
    /// from it, so they reach the same server the same way.
    public func redisConfiguration() throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: redisURL ?? "redis://127.0.0.1:6379")
        configuration.poolSize = redisPoolSize
        if configuration.tls != nil { configuration.tls = redisTLS }
        if !redisSentinels.isEmpty {
            configuration.sentinel = RedisSentinelConfiguration(
                sentinels: try RedisSentinelConfiguration.addresses(redisSentinels.joined(separator: ",")),
                masterName: redisSentinelMaster, password: redisSentinelPassword)
            configuration.requireMaster = true
        }
        if !redisClusterSeeds.isEmpty {
            guard redisSentinels.isEmpty else {
                throw RedisError(code: .invalidURL, message: "Redis Cluster and Sentinel are exclusive: give seeds or sentinels, not both")
            }
            configuration.cluster = RedisClusterConfiguration(
                seeds: try RedisClusterConfiguration.addresses(redisClusterSeeds.joined(separator: ",")))
            configuration.database = 0
        }
        if redisWaitReplicas > 0, let timeout = configuration.requestTimeout, timeout <= .milliseconds(Int64(redisWaitTimeout)) {
            // WAIT holds its connection's reply: the request timeout must outlast it.
            configuration.requestTimeout = .milliseconds(Int64(redisWaitTimeout)) + .seconds(2)
        }
        return configuration
    }
}
