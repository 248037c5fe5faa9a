import Foundation
import RedisClient
import SwitchboardCore
import SwitchboardTestSupport
import Testing

/// A node on a Redis Cluster (3 masters, 3 replicas): two users talk.
@Suite("Node on a Redis Cluster", .serialized)
struct ClusterTests {
    /// Waits for the scripts side (branch `slots`): with the event stream on,
    /// `create_user` fails (its KEYS[2] `sb:events` is in another slot than
    /// the user); with it off, register and create pass but the live `send`
    /// gets no reply frame in 10 s (the live path's keys or `PUBLISH` inside
    /// the scripts, not yet `SPUBLISH`, are the suspects).
    @Test(.disabled("needs the cluster-clean scripts of branch slots"))
    func twoUsersTalkThroughANodeOnACluster() async throws {
        let cluster = try await TestRedisCluster.start()
        var configuration = TestNode.configuration()
        configuration.redisURL = "redis://"
        configuration.redisClusterSeeds = [cluster.seeds]
        // The event stream (one key, sb:events) is written by the same scripts as each user or conversation: cross-slot until the scripts split it.
        configuration.events.enabled = false
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
