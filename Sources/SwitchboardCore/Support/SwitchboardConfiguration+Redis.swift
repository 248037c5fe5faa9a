import NIOCore
import RedisClient

extension SwitchboardConfiguration {
    /// The Redis client's configuration: the URL, the pool size, TLS (for
    /// `rediss://`) and Sentinel. The pool and the subscriber both start
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
        if redisWaitReplicas > 0, let timeout = configuration.requestTimeout, timeout <= .milliseconds(Int64(redisWaitTimeout)) {
            // WAIT holds its connection's reply: the request timeout must outlast it.
            configuration.requestTimeout = .milliseconds(Int64(redisWaitTimeout)) + .seconds(2)
        }
        return configuration
    }
}
