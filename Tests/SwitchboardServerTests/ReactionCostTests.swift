import Foundation
import RedisClient
import SwitchboardCore
import Testing

/// What a reaction and a history page with reactions cost Redis, counted
/// with `INFO commandstats` on a private redis-server (see BENCHMARKS.md).
@Suite("Redis calls per reaction")
struct ReactionCostTests {
    @Test func aReactionIsTwoScriptCallsAndAHistoryPageOneMorePipeline() async throws {
        let server = try TestRedisServer()
        try await server.start()
        var configuration = TestNode.configuration()
        configuration.redisURL = server.url
        configuration.redisClusterSeeds = []  // its own Redis, not the test cluster
        configuration.live.presenceTTL = 600  // no heartbeat inside the measured windows
        configuration.limits.sendSyncInterval = 600
        let node = try await TestNode.start(configuration)
        let alice = try await node.register()
        let bob = try await node.register()
        let group = try await node.create(["kind": "group", "name": "Cost", "members": [bob.id]], as: alice)["id"] as! String
        let aliceLive = try await LiveClient.authenticated(node, alice)
        let bobLive = try await LiveClient.authenticated(node, bob)
        var ids: [String] = []
        for index in 0..<10 {
            let reply = try await aliceLive.command(["op": "send", "conv": group, "text": "m\(index)"])
            ids.append((reply["message"] as? [String: Any])?["id"] as? String ?? "")
        }
        let cost = SendCostTests()
        try await Task.sleep(nanoseconds: 200_000_000)

        // A reaction over the WebSocket: the shared rate limit, then `react` (both EVALSHA).
        let before = try await cost.commandStats(node.redis)
        for id in ids {
            _ = try await bobLive.command(["op": "react", "conv": group, "msg": id, "emoji": "👍", "on": true])
        }
        for _ in ids { _ = try await aliceLive.event("reaction") }
        try await Task.sleep(nanoseconds: 200_000_000)
        let reacting = cost.delta(before, try await cost.commandStats(node.redis))
        #expect(reacting["evalsha"] == 20, "\(reacting)")
        let insideScripts: Set<String> = ["hget", "hmget", "xrange", "zscore", "zadd", "hset", "publish", "spublish", "pexpire"]
        #expect(reacting.keys.filter { $0 != "evalsha" && !insideScripts.contains($0) }.isEmpty, "\(reacting)")

        // A history page: the stream read, then edits, reply counts, reactions and pins in one pipeline (four HMGET).
        let beforePage = try await cost.commandStats(node.redis)
        let page = try await bobLive.command(["op": "history", "conv": group, "limit": 10])
        #expect((page["messages"] as? [[String: Any]])?.allSatisfy { ($0["reactions"] as? [String: Int]) == ["👍": 1] } == true)
        let paging = cost.delta(beforePage, try await cost.commandStats(node.redis))
        #expect(paging["xrevrange"] == 1, "\(paging)")
        #expect(paging["hmget"] == 4, "\(paging)")
        await aliceLive.close()
        await bobLive.close()
        await node.stop()
    }
}
