import Foundation
import RedisClient
import SwitchboardCore
import Testing

/// What a message costs Redis, counted with `INFO commandstats` on a
/// private redis-server (nothing else talks to it).
@Suite("Redis calls per send")
struct SendCostTests {
    /// Calls per command name since the server started.
    func commandStats(_ redis: RedisClient) async throws -> [String: Int] {
        let info = try await redis.send("INFO", "commandstats").string ?? ""
        var stats: [String: Int] = [:]
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
            let name = line.dropFirst("cmdstat_".count).prefix { $0 != ":" }
            let calls = line.range(of: ":calls=").map { line[$0.upperBound...].prefix { $0.isNumber } }
            stats[String(name)] = calls.flatMap { Int($0) } ?? 0
        }
        return stats
    }

    func delta(_ before: [String: Int], _ after: [String: Int]) -> [String: Int] {
        var result: [String: Int] = [:]
        for (name, calls) in after where calls - (before[name] ?? 0) > 0 { result[name] = calls - (before[name] ?? 0) }
        result["info"] = nil  // this test's own
        result["ping"] = nil  // the pub/sub connection's keepalive, not per message
        return result
    }

    /// Polls until `condition` holds (at most 10 s: CI runs every suite at once).
    func waitUntil(_ condition: () async throws -> Bool) async throws {
        for _ in 0..<500 {
            if try await condition() { return }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    /// The commands `send.lua` runs itself (counted by commandstats too).
    static let insideSend: Set<String> = [
        "hget", "hmget", "get", "hincrby", "xadd", "hset", "set", "publish", "spublish", "smembers",
    ]

    @Test func sendToConnectedMembersIsOneCallAndOfflineMembersOneNotifyEach() async throws {
        let server = try TestRedisServer()
        try await server.start()
        var configuration = TestNode.configuration()
        configuration.redisURL = server.url
        configuration.redisClusterSeeds = []  // its own Redis, not the test cluster
        configuration.live.presenceTTL = 600  // no heartbeat inside the measured windows
        // Nor a sync of the send budget: one call per user per interval, not per send
        // (`oneSendBudgetAcrossNodesAndTransports` covers it).
        configuration.limits.sendSyncInterval = 600
        let node = try await TestNode.start(configuration)
        let alice = try await node.register()
        let bob = try await node.register()
        let carol = try await node.register()
        let group = try await node.create(["kind": "group", "name": "Cost", "members": [bob.id, carol.id]], as: alice)["id"] as! String
        let sender = try await LiveClient.authenticated(node, alice)
        let bobClient = try await LiveClient.authenticated(node, bob)
        let carolClient = try await LiveClient.authenticated(node, carol)
        try await waitUntil { try await node.redis.send("SCARD", node.keys.offline(group)).int == 0 }

        // Everyone connected: the EVALSHA and nothing else.
        let before = try await commandStats(node.redis)
        for index in 0..<20 { _ = try await sender.command(["op": "send", "conv": group, "text": "m\(index)", "nonce": "n\(index)"]) }
        try await waitUntil { carolClient.received({ $0["ev"] as? String == "message" }).count == 20 }
        try await Task.sleep(nanoseconds: 200_000_000)  // anything the sends started afterwards
        let online = delta(before, try await commandStats(node.redis))
        #expect(online["evalsha"] == 20, "\(online)")
        #expect(online.keys.filter { $0 != "evalsha" && !Self.insideSend.contains($0) }.isEmpty, "\(online)")

        // Bob gone: one `notify` per message for him, nothing per connected member.
        await bobClient.close()
        try await waitUntil { try await node.redis.send("SCARD", node.keys.offline(group)).int == 1 }
        let beforeOffline = try await commandStats(node.redis)
        for index in 0..<5 { _ = try await sender.command(["op": "send", "conv": group, "text": "away \(index)"]) }
        try await waitUntil { try await node.redis.send("ZCARD", node.keys.notifications(bob.id)).int == 5 }
        try await Task.sleep(nanoseconds: 200_000_000)
        let offline = delta(beforeOffline, try await commandStats(node.redis))
        #expect(offline["evalsha"] == 10, "\(offline)")  // 5 sends + 5 notify
        await sender.close()
        await carolClient.close()
        await node.stop()
    }
}
