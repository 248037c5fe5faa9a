import Foundation
import NIOCore
import RedisClient
import SwitchboardTestSupport
import Testing

/// One test cluster (3 masters, 3 replicas) for the suite; tests move slots
/// and fail masters over, so each reads the map as it is now.
enum SharedCluster {
    static let cluster = Task { try await TestRedisCluster.start() }

    static func start() async throws -> TestRedisCluster { try await cluster.value }

    static func configuration(_ cluster: TestRedisCluster) -> RedisConfiguration {
        var configuration = RedisConfiguration()
        configuration.cluster = RedisClusterConfiguration(seeds: Array(cluster.seedAddresses.prefix(2)))
        configuration.poolSize = 2
        configuration.requestTimeout = .seconds(10)
        return configuration
    }
}

/// Commands and scripts on a real Redis Cluster: routing by slot, redirects, scripts per shard.
@Suite("Redis Cluster client", .serialized)
struct RedisClusterTests {
    /// Keys spread over every master, one with each slot's tag.
    private func keys(_ p: String, count: Int = 60) -> [String] { (0..<count).map { "\(p){k\($0)}" } }

    @Test func routesCommandsToTheMasterOfEachSlot() async throws {
        let cluster = try await SharedCluster.start()
        let redis = RedisClient(configuration: SharedCluster.configuration(cluster))
        let p = TestEnvironment.uniquePrefix()
        let all = keys(p)
        for key in all { try await redis.send("SET", key, "v-" + key) }
        var masters: Set<Int> = []
        for key in all {
            let port = try await cluster.masterPort(forKey: key)
            masters.insert(port)
            // Asked directly (no redirects), the key's own master has it.
            #expect(try await cluster.node(port: port)?.command("GET", key).string == "v-" + key)
        }
        #expect(masters.count == 3)
        // A pipeline over every shard answers in order.
        let replies = try await redis.pipeline(all.map { RedisCommand("GET", [$0]) })
        #expect(replies.map(\.string) == all.map { "v-" + $0 })
        // Keyless commands go to a master.
        #expect(try await redis.send("PING").string == "PONG")
        #expect(try await redis.masters().count == 3)
        #expect(try await redis.sendToEveryMaster(RedisCommand("DBSIZE")).count == 3)
        #expect(redis.isCluster && redis.publishCommand == "SPUBLISH" && redis.subscriptionKind == .shard)
        await redis.shutdown()
    }

    @Test func refusesCrossSlotCommandsBeforeSending() async throws {
        let cluster = try await SharedCluster.start()
        let redis = RedisClient(configuration: SharedCluster.configuration(cluster))
        let p = TestEnvironment.uniquePrefix()
        await #expect {
            try await redis.send("MSET", p + "{a}x", "1", p + "{b}y", "2")
        } throws: { error in
            (error as? RedisError)?.code == .crossSlot
        }
        await #expect {
            try await redis.pipeline([RedisCommand("SET", [p + "{a}z", "1"]), RedisCommand("DEL", [p + "{a}x", p + "{b}y"])])
        } throws: { error in
            (error as? RedisError)?.code == .crossSlot
        }
        // Nothing of the refused pipeline was sent.
        #expect(try await redis.send("EXISTS", p + "{a}z").int == 0)
        // Keys that share a tag are fine.
        try await redis.send("MSET", p + "{a}x", "1", p + "{a}y", "2")
        #expect(try await redis.send("MGET", p + "{a}x", p + "{a}y").array?.compactMap(\.string) == ["1", "2"])
        await redis.shutdown()
    }

    @Test func followsMovedAfterASlotIsResharded() async throws {
        let cluster = try await SharedCluster.start()
        let redis = RedisClient(configuration: SharedCluster.configuration(cluster))
        let p = TestEnvironment.uniquePrefix()
        let key = p + "{moved}"
        try await redis.send("SET", key, "before")  // the client has its slot map now
        let slot = RedisHashSlot(key: key).rawValue
        let source = try await cluster.masterPort(forSlot: slot)
        let target = try await cluster.masterPorts().first { $0 != source }!
        try await cluster.moveSlot(slot, to: target)
        #expect(try await cluster.masterPort(forKey: key) == target)
        // The stale map sends GET to the old master, which answers MOVED.
        #expect(try await redis.send("GET", key).string == "before")
        try await redis.send("SET", key, "after")
        #expect(try await cluster.node(port: target)?.command("GET", key).string == "after")
        let map = try await redis.clusterRouter!.topology().get()
        #expect(map.master(for: RedisHashSlot(rawValue: slot)) == .tcp(host: "127.0.0.1", port: target))
        await redis.shutdown()
    }

    @Test func followsAskDuringAMigration() async throws {
        let cluster = try await SharedCluster.start()
        let redis = RedisClient(configuration: SharedCluster.configuration(cluster))
        let p = TestEnvironment.uniquePrefix()
        let migrated = p + "{ask}:migrated"
        let staying = p + "{ask}:staying"
        try await redis.send("SET", migrated, "one")
        try await redis.send("SET", staying, "two")
        let slot = RedisHashSlot(key: migrated).rawValue
        let sourcePort = try await cluster.masterPort(forSlot: slot)
        let targetPort = try await cluster.masterPorts().first { $0 != sourcePort }!
        let source = cluster.node(port: sourcePort)!
        let target = cluster.node(port: targetPort)!
        try await cluster.beginMigration(slot, from: source, to: target)
        // Move one key only: the source answers ASK for it, and still serves the other.
        let connection = try await source.connect()
        _ = try await connection.send(RedisCommand("MIGRATE", ["127.0.0.1", targetPort, migrated, 0, 5000])).get().throwingError()
        _ = try await connection.close().get()
        // Asked directly, the source redirects: the key is on the target now.
        let direct = try await source.connect()
        #expect(try await direct.send(RedisCommand("GET", [migrated])).get().errorMessage?.hasPrefix("ASK") == true)
        _ = try await direct.close().get()
        #expect(try await redis.send("GET", migrated).string == "one")
        #expect(try await redis.send("GET", staying).string == "two")
        try await cluster.migrateKeys(slot, from: source, to: target)
        try await cluster.finishMigration(slot, to: target)
        #expect(try await redis.send("GET", staying).string == "two")
        await redis.shutdown()
    }

    @Test func scriptsRunOnEveryShardAndSurviveAFlush() async throws {
        let cluster = try await SharedCluster.start()
        let redis = RedisClient(configuration: SharedCluster.configuration(cluster))
        let scripts = RedisScriptRegistry(
            client: redis,
            scripts: [RedisScript(name: "append", source: "return redis.call('APPEND', KEYS[1], ARGV[1])")])
        try await scripts.loadAll()
        #expect(try await scripts.allLoaded())
        let p = TestEnvironment.uniquePrefix()
        let all = keys(p, count: 30)
        for key in all { #expect(try await scripts.evaluate("append", keys: [key], arguments: ["ab"]).int == 2) }
        // One shard forgets its scripts: NOSCRIPT there, loaded again, retried.
        let flushed = try await cluster.masterPorts()[1]
        try await cluster.node(port: flushed)?.command("SCRIPT", "FLUSH")
        #expect(try await scripts.allLoaded() == false)
        for key in all { #expect(try await scripts.evaluate("append", keys: [key], arguments: ["c"]).int == 3) }
        #expect(try await scripts.allLoaded())
        // A pipeline of calls over every shard, after another flush.
        try await cluster.node(port: flushed)?.command("SCRIPT", "FLUSH")
        let replies = try await scripts.pipeline(all.map { RedisScriptRegistry.Call("append", keys: [$0], arguments: ["d"]) })
        #expect(replies.map(\.int) == all.map { _ in 4 })
        await redis.shutdown()
    }
}

extension RedisClusterTests {
    /// Sharded pub/sub on a real cluster: each channel on the master of its
    /// slot, moved when the slot moves or its master fails over. Nested, so that
    /// it never runs while the suite above moves slots.
    @Suite("Redis Cluster sharded pub/sub", .serialized)
    struct RedisClusterPubSubTests {
        @Test func deliversShardChannelsFromEveryShard() async throws {
            let cluster = try await SharedCluster.start()
            let configuration = SharedCluster.configuration(cluster)
            let redis = RedisClient(configuration: configuration)
            let subscriber = RedisSubscriber(configuration: configuration, clusterRouter: redis.clusterRouter)
            let recorder = EventRecorder(subscriber)
            let running = Task { try await subscriber.run() }
            let p = TestEnvironment.uniquePrefix()
            let channels = (0..<12).map { "\(p)live:{c\($0)}" }
            try await subscriber.subscribe(channels, kind: .shard)
            var shards: Set<Int> = []
            for channel in channels { shards.insert(try await cluster.masterPort(forKey: channel)) }
            #expect(shards.count == 3)
            for channel in channels {
                // Confirmed: the shard counts one receiver at once.
                #expect(try await redis.send("SPUBLISH", channel, "hello").int == 1)
                #expect(await recorder.next(where: isMessage(channel, "hello")) != nil)
            }
            subscriber.unsubscribe([channels[0]], kind: .shard)
            var receivers = 1
            for _ in 0..<100 where receivers != 0 {
                receivers = try await redis.send("SPUBLISH", channels[0], "gone").int ?? -1
                if receivers != 0 { try await Task.sleep(nanoseconds: 20_000_000) }
            }
            #expect(receivers == 0)
            subscriber.stop()
            try await running.value
            await redis.shutdown()
        }

        @Test func resubscribesWhenTheSlotMoves() async throws {
            let cluster = try await SharedCluster.start()
            let configuration = SharedCluster.configuration(cluster)
            let redis = RedisClient(configuration: configuration)
            let subscriber = RedisSubscriber(configuration: configuration, clusterRouter: redis.clusterRouter)
            let recorder = EventRecorder(subscriber)
            let running = Task { try await subscriber.run() }
            let channel = TestEnvironment.uniquePrefix() + "live:{moving}"
            try await subscriber.subscribe([channel], kind: .shard)
            #expect(try await redis.send("SPUBLISH", channel, "before").int == 1)
            #expect(await recorder.next(where: isMessage(channel, "before")) != nil)

            let slot = RedisHashSlot(key: channel).rawValue
            let source = try await cluster.masterPort(forSlot: slot)
            let target = try await cluster.masterPorts().first { $0 != source }!
            try await cluster.moveSlot(slot, to: target)
            // The old master pushes `sunsubscribe`; the channel moves and the owner hears of a gap.
            #expect(await recorder.next(within: 20) { $0 == .connected(gap: true) } != nil)
            #expect(try await redis.send("SPUBLISH", channel, "after").int == 1)
            #expect(await recorder.next(where: isMessage(channel, "after")) != nil)
            #expect(try await cluster.node(port: target)?.command("PUBSUB", "SHARDNUMSUB", channel).array?.last?.int == 1)
            subscriber.stop()
            try await running.value
            await redis.shutdown()
        }

        @Test func followsAFailoverOfTheChannelsMaster() async throws {
            let cluster = try await SharedCluster.start()
            let configuration = SharedCluster.configuration(cluster)
            let redis = RedisClient(configuration: configuration)
            let subscriber = RedisSubscriber(configuration: configuration, clusterRouter: redis.clusterRouter)
            let recorder = EventRecorder(subscriber)
            let running = Task { try await subscriber.run() }
            let p = TestEnvironment.uniquePrefix()
            let channel = p + "live:{failover}"
            let key = p + "{failover}:key"
            try await subscriber.subscribe([channel], kind: .shard)
            try await redis.send("SET", key, "before")
            #expect(try await redis.send("SPUBLISH", channel, "before").int == 1)
            #expect(await recorder.next(where: isMessage(channel, "before")) != nil)

            let oldMaster = try await cluster.masterPort(forKey: channel)
            let newMaster = try await cluster.failover(masterPort: oldMaster)
            #expect(await recorder.next(within: 30) { $0 == .connected(gap: true) } != nil)
            // Commands follow the new master (MOVED from the demoted one).
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
    }
}
