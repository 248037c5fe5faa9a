import Foundation
import NIOCore
import RedisClient
import SwitchboardTestSupport
import Testing

/// Discovery through Sentinel and a switch of master, with real sentinels.
@Suite("Redis through Sentinel", .serialized)
struct RedisSentinelTests {
    @Test func parsesSentinelAddresses() throws {
        let addresses = try RedisSentinelConfiguration.addresses("10.0.0.1:26379, sentinel-b,[::1]:26380")
        #expect(addresses == [.tcp(host: "10.0.0.1", port: 26379), .tcp(host: "sentinel-b", port: 26379), .tcp(host: "::1", port: 26380)])
        #expect(throws: RedisError.self) { try RedisSentinelConfiguration.addresses("host:notaport") }
        #expect(throws: RedisError.self) { try RedisSentinelConfiguration.addresses(" , ") }
    }

    /// A planned failover (`SENTINEL FAILOVER`): the old master lives on as a
    /// replica, so only `+switch-master` (or a `READONLY` reply) can tell the
    /// pool to move. The subscriber reconnects to the new master with a gap.
    @Test func followsTheMasterAcrossAFailover() async throws {
        let setup = try await TestSentinels.start()
        var configuration = RedisConfiguration()
        configuration.sentinel = RedisSentinelConfiguration(
            sentinels: try RedisSentinelConfiguration.addresses(setup.addresses), masterName: TestSentinels.masterName)
        configuration.poolSize = 2
        let redis = RedisClient(configuration: configuration)
        let watching = Task { try await redis.run() }
        try await redis.send("SET", "sentinel:key", "before")
        #expect(redis.masterLocator?.current == .tcp(host: "127.0.0.1", port: setup.master.port))
        let subscriber = RedisSubscriber(configuration: configuration, masterLocator: redis.masterLocator)
        let recorder = EventRecorder(subscriber)
        let running = Task { try await subscriber.run() }
        try await subscriber.subscribe(["sentinel:channel"])

        try await setup.sentinels[0].command("SENTINEL", "FAILOVER", TestSentinels.masterName)
        var moved = false
        for _ in 0..<200 {
            if redis.masterLocator?.current == .tcp(host: "127.0.0.1", port: setup.replica.port) {
                moved = true
                break
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        #expect(moved, "the locator did not follow +switch-master")
        // Writes go to the new master (a request racing the switch may see READONLY once).
        var written = false
        for _ in 0..<100 {
            if (try? await redis.send("SET", "sentinel:key", "after")) != nil {
                written = true
                break
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        #expect(written)
        #expect(try await setup.replica.command("GET", "sentinel:key").string == "after")
        let gap = await recorder.next(within: 15) { $0 == .connected(gap: true) }
        #expect(gap != nil)
        // Sentinel ends the failover by reconfiguring the old master as a
        // replica with `CLIENT KILL TYPE normal`: a pooled connection still
        // there is closed under a request, so the publish may need a retry.
        var published = false
        for _ in 0..<100 where !published {
            published = (try? await redis.send("PUBLISH", "sentinel:channel", "on the new master")) != nil
            if !published { try await Task.sleep(nanoseconds: 50_000_000) }
        }
        #expect(published)
        #expect(await recorder.next(where: isMessage("sentinel:channel", "on the new master")) != nil)

        subscriber.stop()
        try await running.value
        redis.masterLocator?.stop()
        try await watching.value
        await setup.stop()
    }
}
