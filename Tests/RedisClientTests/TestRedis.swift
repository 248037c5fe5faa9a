import Foundation
import NIOCore
import NIOPosix
import RedisClient
import SwitchboardTestSupport
import Testing

/// The shared test server (`REDIS_URL`, set by scripts/test) and helpers.
enum TestRedis {
    static var url: String { TestEnvironment.redisURL }

    static func configuration() throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: url)
        configuration.requestTimeout = .seconds(10)
        return configuration
    }

    static func client(poolSize: Int = 2) throws -> RedisClient {
        var configuration = try configuration()
        configuration.poolSize = poolSize
        return RedisClient(configuration: configuration)
    }

    /// A key prefix no other test uses.
    static func prefix(_ name: String = #function) -> String { TestEnvironment.uniquePrefix() }
}
