import Foundation
import RedisClient
import SwitchboardCore
import SwitchboardTestSupport
import Testing

/// A node on a Redis Cluster (3 masters, 3 replicas): two users talk.
@Suite("Node on a Redis Cluster", .serialized)
struct ClusterTests {
    /// Scripts `SPUBLISH` in their conversation's slot, the hub
    /// `SSUBSCRIBE`s on the master of that slot, every script stays in one slot.
    @Test
    func twoUsersTalkThroughANodeOnACluster() async throws {
        let cluster = try await TestRedisCluster.start()
        var configuration = TestNode.configuration()
        configuration.redisURL = "redis://"
        configuration.redisClusterSeeds = [cluster.seeds]
        let node = try await TestNode.start(configuration)
        #expect(node.redis.isCluster)
        let alice = try await node.register()
        let bob = try await node.register()
        let conv = try await node.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        let aliceClient = try await LiveClient.authenticated(node, alice)
        let bobClient = try await LiveClient.authenticated(node, bob)
        let reply = try await aliceClient.command(["op": "send", "conv": conv, "text": "hello over the cluster"])
        #expect(reply["ok"] as? Bool == true, "send answered \(reply)")
        let event = try await bobClient.event("message")
        #expect((event["message"] as? [String: Any])?["text"] as? String == "hello over the cluster")
        await aliceClient.close()
        await bobClient.close()
        await node.stop()
        cluster.kill()
    }
}
