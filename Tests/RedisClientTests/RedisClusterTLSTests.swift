import Foundation
import NIOCore
import RedisClient
import SwitchboardTestSupport
import Testing

/// One TLS-only test cluster (3 masters, 3 replicas) for the suite, its
/// certificates made by the `openssl` CLI for the occasion.
enum SharedTLSCluster {
    static let cluster = Task { try await TestRedisCluster.start(tls: .init(certificates: try await TestCertificates.shared())) }

    static func start() async throws -> TestRedisCluster { try await cluster.value }

    static func configuration(_ cluster: TestRedisCluster, ca: String? = nil) -> RedisConfiguration {
        var configuration = cluster.clientConfiguration(ca: ca)
        configuration.cluster?.seeds = Array(cluster.seedAddresses.prefix(2))
        configuration.poolSize = 2
        configuration.requestTimeout = .seconds(10)
        return configuration
    }
}

/// The cluster client against nodes that listen on TLS only (`--port 0
/// --tls-port P --tls-cluster yes`): the slot map names each node's
/// `tls-port`, and every pool, script load and shard subscriber connects
/// with TLS and checks the node's certificate.
@Suite("Redis Cluster over TLS", .serialized)
struct RedisClusterTLSTests {
    @Test func commandsAndScriptsReachEveryShardOverTLS() async throws {
        let cluster = try await SharedTLSCluster.start()
        let redis = RedisClient(configuration: SharedTLSCluster.configuration(cluster))
        // The map names the TLS ports the nodes listen on (they have no plain port).
        let map = try await redis.clusterRouter!.topology().get()
        #expect(Set(map.masters) == Set(try await cluster.masterPorts().map { RedisConfiguration.Address.tcp(host: "127.0.0.1", port: $0) }))
        let p = TestEnvironment.uniquePrefix()
        let keys = (0..<30).map { "\(p){k\($0)}" }
        var masters: Set<Int> = []
        for key in keys {
            try await redis.send("SET", key, "v-" + key)
            let port = try await cluster.masterPort(forKey: key)
            masters.insert(port)
            #expect(try await cluster.node(port: port)?.command("GET", key).string == "v-" + key)
        }
        #expect(masters.count == 3)
        let replies = try await redis.pipeline(keys.map { RedisCommand("GET", [$0]) })
        #expect(replies.map(\.string) == keys.map { "v-" + $0 })
        #expect(try await redis.sendToEveryMaster(RedisCommand("PING")).map(\.string) == ["PONG", "PONG", "PONG"])

        let scripts = RedisScriptRegistry(
            client: redis, scripts: [RedisScript(name: "append", source: "return redis.call('APPEND', KEYS[1], ARGV[1])")])
        try await scripts.loadAll()
        #expect(try await scripts.allLoaded())
        for key in keys { #expect(try await scripts.evaluate("append", keys: [key], arguments: ["+"]).int == 3 + key.utf8.count) }
        // One shard forgets its scripts: NOSCRIPT there, loaded again over TLS, retried.
        try await cluster.node(port: try await cluster.masterPorts()[2])?.command("SCRIPT", "FLUSH")
        let calls = keys.map { RedisScriptRegistry.Call("append", keys: [$0], arguments: ["!"]) }
        #expect(try await scripts.pipeline(calls).map(\.int) == keys.map { 4 + $0.utf8.count })
        #expect(try await scripts.allLoaded())
        await redis.shutdown()
    }

    @Test func shardedPubSubOnEveryShardOverTLS() async throws {
        let cluster = try await SharedTLSCluster.start()
        let configuration = SharedTLSCluster.configuration(cluster)
        let redis = RedisClient(configuration: configuration)
        let subscriber = RedisSubscriber(configuration: configuration, clusterRouter: redis.clusterRouter)
        let recorder = EventRecorder(subscriber)
        let running = Task { try await subscriber.run() }
        let p = TestEnvironment.uniquePrefix()
        let channels = (0..<9).map { "\(p)live:{c\($0)}" }
        try await subscriber.subscribe(channels, kind: .shard)
        var shards: Set<Int> = []
        for channel in channels { shards.insert(try await cluster.masterPort(forKey: channel)) }
        #expect(shards.count == 3)
        for channel in channels {
            #expect(try await redis.send("SPUBLISH", channel, "over tls").int == 1)
            #expect(await recorder.next(where: isMessage(channel, "over tls")) != nil)
        }
        // A script publishes in its own slot, as the node's send script does.
        let scripts = RedisScriptRegistry(
            client: redis,
            scripts: [RedisScript(name: "post", source: "redis.call('SET', KEYS[1], ARGV[2]) return redis.call('SPUBLISH', ARGV[1], ARGV[2])")])
        let channel = channels[4]
        let tag = String(channel[channel.firstIndex(of: "{")!...])
        #expect(try await scripts.evaluate("post", keys: [p + tag + ":last"], arguments: [channel, "from a script"]).int == 1)
        #expect(await recorder.next(where: isMessage(channel, "from a script")) != nil)
        subscriber.stop()
        try await running.value
        await redis.shutdown()
    }

    /// A planned failover: the promoted replica is reached over TLS on its
    /// `tls-port`, by the pool (after `MOVED`) and by the shard subscriber.
    @Test func followsAFailoverOverTLS() async throws {
        let cluster = try await SharedTLSCluster.start()
        let configuration = SharedTLSCluster.configuration(cluster)
        let redis = RedisClient(configuration: configuration)
        let subscriber = RedisSubscriber(configuration: configuration, clusterRouter: redis.clusterRouter)
        let recorder = EventRecorder(subscriber)
        let running = Task { try await subscriber.run() }
        let p = TestEnvironment.uniquePrefix()
        let channel = p + "live:{tlsfailover}"
        let key = p + "{tlsfailover}:key"
        try await subscriber.subscribe([channel], kind: .shard)
        try await redis.send("SET", key, "before")
        #expect(try await redis.send("SPUBLISH", channel, "before").int == 1)
        #expect(await recorder.next(where: isMessage(channel, "before")) != nil)

        let newMaster = try await cluster.failover(masterPort: try await cluster.masterPort(forKey: channel))
        #expect(await recorder.next(within: 30) { $0 == .connected(gap: true) } != nil)
        #expect(try await redis.send("GET", key).string == "before")
        try await redis.send("SET", key, "after")
        #expect(try await cluster.node(port: newMaster)?.command("GET", key).string == "after")
        var delivered = false
        for _ in 0..<50 where !delivered {
            if try await redis.send("SPUBLISH", channel, "after").int == 1 {
                delivered = await recorder.next(within: 5, where: isMessage(channel, "after")) != nil
            } else {
                try await Task.sleep(nanoseconds: 100_000_000)
            }
        }
        #expect(delivered)
        subscriber.stop()
        try await running.value
        await redis.shutdown()
    }

    /// Seeds whose certificates are not signed by the configured CA: the
    /// request fails at once with the cause and the flag to check.
    @Test func wrongCAFailsWithAClearError() async throws {
        let cluster = try await SharedTLSCluster.start()
        let otherCA = try await TestCertificates.shared().otherCAFile
        let redis = RedisClient(configuration: SharedTLSCluster.configuration(cluster, ca: otherCA))
        do {
            try await redis.send("PING")
            Issue.record("PING went through with the wrong CA")
        } catch {
            let message = (error as? RedisError)?.message ?? "\(error)"
            #expect(message.contains("no cluster node answered CLUSTER SHARDS"), "\(message)")
            #expect(message.contains("not signed by a trusted CA"), "\(message)")
            #expect(message.contains("--redis-ca-file"), "\(message)")
        }
        // A plain client is told the port speaks TLS.
        var plain = SharedTLSCluster.configuration(cluster)
        plain.tls = nil
        plain.connectTimeout = .seconds(2)
        plain.requestTimeout = .seconds(2)
        let plainRedis = RedisClient(configuration: plain)
        await #expect(throws: RedisError.self) { try await plainRedis.send("PING") }
        await redis.shutdown()
        await plainRedis.shutdown()
    }
}
