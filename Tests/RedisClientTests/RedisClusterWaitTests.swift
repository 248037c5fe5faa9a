import Foundation
import NIOCore
import RedisClient
import SwitchboardTestSupport
import Testing

/// `WAIT` after a script on a Redis Cluster (`--redis-wait-replicas`): it
/// counts the replicas that have its own connection's writes, so it must run
/// on the connection of the master that ran the script, also when the script
/// was redirected there. A cluster of its own: the test kills a replica.
@Suite("Redis Cluster WAIT after a script")
struct RedisClusterWaitTests {
    @Test func waitFollowsItsScriptToTheSlotsNewMaster() async throws {
        let cluster = try await TestRedisCluster.start()
        defer { cluster.kill() }
        // Not run as a service: no periodic refresh, the slot map stays as read until a redirect.
        let redis = RedisClient(configuration: SharedCluster.configuration(cluster))
        let scripts = RedisScriptRegistry(
            client: redis, scripts: [RedisScript(name: "set", source: "return redis.call('SET', KEYS[1], ARGV[1])")])
        try await scripts.loadAll()
        let key = TestEnvironment.uniquePrefix() + "{wait}"
        let wait = RedisCommand("WAIT", [1, 2000])

        let first = try await scripts.evaluate("set", keys: [key], arguments: ["one"], followedBy: wait).get()
        #expect(first.script.string == "OK")
        #expect(first.followUp.int == 1)

        // The slot moves to another master while the client's map still names
        // the old one, whose replica is gone: a WAIT left there answers 0.
        let slot = RedisHashSlot(key: key).rawValue
        let source = try await cluster.masterPort(forSlot: slot)
        let sourceReplica = try await cluster.waitForReplica(of: source)
        let target = try #require(try await cluster.masterPorts().first(where: { $0 != source }))
        let targetReplica = try await cluster.waitForReplica(of: target)
        cluster.node(port: sourceReplica)?.kill()
        try await cluster.moveSlot(slot, to: target)

        let moved = try await scripts.evaluate("set", keys: [key], arguments: ["two"], followedBy: wait).get()
        #expect(moved.script.string == "OK")
        #expect(moved.followUp.int == 1, "WAIT counted the replicas of another master")
        // Acknowledged with WAIT 1: the new master's replica has the write.
        let connection = try await #require(cluster.node(port: targetReplica)).connect()
        let replies = try await connection.send([RedisCommand("READONLY"), RedisCommand("GET", [key])]).get()
        #expect(replies[1].string == "two")
        _ = try? await connection.close().get()
        await redis.shutdown()
    }
}
