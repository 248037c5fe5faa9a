import Foundation
import NIOCore
import RedisClient
import SwitchboardTestSupport
import Testing

/// Sentinel with TLS everywhere: the master, the replica and the three
/// sentinels listen on TLS ports only (`--port 0 --tls-port P`), replication
/// and the sentinels' links use TLS (`tls-replication yes`). The client
/// reaches the sentinels and the master with the same TLS settings.
@Suite("Redis through Sentinel over TLS", .serialized)
struct RedisSentinelTLSTests {
    func configuration(_ setup: TestSentinels, ca: String? = nil) async throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: "rediss://")
        let defaultCA = try await TestCertificates.shared().caFile
        configuration.tls?.caFile = ca ?? defaultCA
        configuration.sentinel = RedisSentinelConfiguration(
            sentinels: try RedisSentinelConfiguration.addresses(setup.addresses), masterName: TestSentinels.masterName)
        configuration.requireMaster = true
        configuration.poolSize = 2
        return configuration
    }

    /// Discovery and a planned failover (`SENTINEL FAILOVER`), followed over
    /// TLS: `+switch-master` arrives on a TLS connection to a sentinel, the
    /// pool and the subscriber reconnect to the promoted replica's TLS port.
    @Test func discoversAndFollowsTheMasterOverTLS() async throws {
        let setup = try await TestSentinels.start(tls: .init(certificates: try await TestCertificates.shared()))
        let configuration = try await configuration(setup)
        let redis = RedisClient(configuration: configuration)
        let watching = Task { try await redis.run() }
        try await redis.send("SET", "sentinel-tls:key", "before")
        #expect(redis.masterLocator?.current == .tcp(host: "127.0.0.1", port: setup.master.port))
        #expect(try await setup.master.command("GET", "sentinel-tls:key").string == "before")
        let subscriber = RedisSubscriber(configuration: configuration, masterLocator: redis.masterLocator)
        let recorder = EventRecorder(subscriber)
        let running = Task { try await subscriber.run() }
        try await subscriber.subscribe(["sentinel-tls:channel"])

        try await setup.sentinels[0].command("SENTINEL", "FAILOVER", TestSentinels.masterName)
        var moved = false
        for _ in 0..<400 where !moved {
            moved = redis.masterLocator?.current == .tcp(host: "127.0.0.1", port: setup.replica.port)
            if !moved { try await Task.sleep(nanoseconds: 50_000_000) }
        }
        #expect(moved, "the locator did not follow +switch-master")
        var written = false
        for _ in 0..<100 where !written {
            written = (try? await redis.send("SET", "sentinel-tls:key", "after")) != nil
            if !written { try await Task.sleep(nanoseconds: 50_000_000) }
        }
        #expect(written)
        #expect(try await setup.replica.command("GET", "sentinel-tls:key").string == "after")
        #expect(await recorder.next(within: 15) { $0 == .connected(gap: true) } != nil)
        // Published until it arrives (bounded): the resubscription may complete just after the gap event.
        let publisher = Task {
            for _ in 0..<40 where !Task.isCancelled {
                _ = try? await redis.send("PUBLISH", "sentinel-tls:channel", "on the new master")
                try? await Task.sleep(nanoseconds: 250_000_000)
            }
        }
        #expect(await recorder.next(where: isMessage("sentinel-tls:channel", "on the new master")) != nil)
        publisher.cancel()

        subscriber.stop()
        try await running.value
        redis.masterLocator?.stop()
        try await watching.value
        await setup.stop()
    }

    /// Sentinels whose certificates the client does not trust: the request
    /// fails with the sentinels' addresses, the cause and the flag to check.
    @Test func wrongCAForTheSentinelsFailsWithAClearError() async throws {
        let setup = try await TestSentinels.start(tls: .init(certificates: try await TestCertificates.shared()))
        let redis = RedisClient(configuration: try await configuration(setup, ca: try await TestCertificates.shared().otherCAFile))
        do {
            try await redis.send("PING")
            Issue.record("PING went through with the wrong CA")
        } catch {
            let message = (error as? RedisError)?.message ?? "\(error)"
            #expect(message.contains("no sentinel answered for master \(TestSentinels.masterName)"), "\(message)")
            #expect(message.contains("not signed by a trusted CA"), "\(message)")
            #expect(message.contains("--redis-ca-file"), "\(message)")
        }
        await redis.shutdown()
        await setup.stop()
    }
}
