import NIOCore
import RedisClient
import Testing

@Suite("Redis URLs and backoff")
struct RedisConfigurationTests {
    @Test func parsesFullURL() throws {
        let configuration = try RedisConfiguration(url: "redis://alice:s%40cret@redis.internal:6380/3")
        #expect(configuration.address == .tcp(host: "redis.internal", port: 6380))
        #expect(configuration.username == "alice")
        #expect(configuration.password == "s@cret")
        #expect(configuration.database == 3)
    }

    @Test func parsesPasswordOnlyAndDefaults() throws {
        let configuration = try RedisConfiguration(url: "redis://:pw@localhost")
        #expect(configuration.address == .tcp(host: "localhost", port: 6379))
        #expect(configuration.username == nil)
        #expect(configuration.password == "pw")
        #expect(configuration.database == 0)
    }

    @Test func parsesUnixSocket() throws {
        let configuration = try RedisConfiguration(url: "unix:///run/redis/redis.sock?db=2")
        #expect(configuration.address == .unix(path: "/run/redis/redis.sock"))
        #expect(configuration.database == 2)
    }

    @Test func parsesIPv6() throws {
        let configuration = try RedisConfiguration(url: "redis://[::1]:7000")
        #expect(configuration.address == .tcp(host: "::1", port: 7000))
    }

    @Test(arguments: ["localhost:6379", "http://x", "redis://host:notaport", "redis://host:6379/x", "unix://relative"])
    func rejectsBadURLs(_ url: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
    }

    @Test func backoffGrowsAndIsCapped() {
        var backoff = RedisBackoff()
        backoff.initial = .milliseconds(100)
        backoff.maximum = .seconds(1)
        backoff.jitter = 0.2
        #expect(backoff.delay(attempt: 1, random: 0) == .milliseconds(100))
        #expect(backoff.delay(attempt: 2, random: 0) == .milliseconds(200))
        #expect(backoff.delay(attempt: 3, random: 0) == .milliseconds(400))
        #expect(backoff.delay(attempt: 10, random: 0) == .seconds(1))
        #expect(backoff.delay(attempt: 1, random: 1) == .milliseconds(120))
        #expect(backoff.delay(attempt: 1, random: -1) == .milliseconds(80))
        #expect(backoff.delay(attempt: 30, random: 1) <= .seconds(1))
    }
}
