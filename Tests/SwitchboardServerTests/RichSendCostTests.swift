import Foundation
import RedisClient
import SwitchboardCore
import Testing

/// What a rich message costs Redis (BENCHMARKS.md, "Rich messages"),
/// counted with `INFO commandstats` on a private redis-server.
@Suite("Redis calls per rich send")
struct RichSendCostTests {
    @Test func attachmentReplyAndShareCosts() async throws {
        let cost = SendCostTests()
        let server = try TestRedisServer()
        try await server.start()
        var configuration = TestNode.configuration()
        configuration.redisURL = server.url
        configuration.redisClusterSeeds = []  // its own Redis, not the test cluster
        configuration.live.presenceTTL = 600
        configuration.limits.sendSyncInterval = 600
        configuration.uploads.directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-cost-\(RandomID.make(length: 6))").path
        let node = try await TestNode.start(configuration)
        let alice = try await node.register()
        let bob = try await node.register()
        let group = try await node.create(["kind": "group", "name": "Cost", "members": [bob.id]], as: alice)["id"] as! String
        let sender = try await LiveClient.authenticated(node, alice)
        let bobClient = try await LiveClient.authenticated(node, bob)
        try await cost.waitUntil { try await node.redis.send("SCARD", node.keys.offline(group)).int == 0 }
        var files: [String] = []
        for _ in 0..<10 { files.append(try await node.uploadID(RichMessageTests.png, type: "image/png", as: alice)) }

        // One attachment, everyone connected: file_attach + send.
        var before = try await cost.commandStats(node.redis)
        for index in 0..<10 { _ = try await sender.command(["op": "send", "conv": group, "text": "f\(index)", "attachments": [files[index]]]) }
        try await cost.waitUntil { bobClient.received({ $0["ev"] as? String == "message" }).count == 10 }
        try await Task.sleep(nanoseconds: 200_000_000)
        let attachment = cost.delta(before, try await cost.commandStats(node.redis))
        #expect(attachment["evalsha"] == 20, "\(attachment)")
        #expect(
            attachment.keys.filter {
                $0 != "evalsha" && !SendCostTests.insideSend.contains($0) && !["hmget", "persist", "sadd", "xrange"].contains($0)
            }.isEmpty, "\(attachment)")
        print("rich-send-cost attachment x10: \(attachment.sorted { $0.key < $1.key })")

        // A reply: still one call.
        let first = bobClient.received { $0["ev"] as? String == "message" }.first?["message"] as? [String: Any]
        let original = first?["id"] as? String ?? ""
        before = try await cost.commandStats(node.redis)
        for index in 0..<10 { _ = try await sender.command(["op": "send", "conv": group, "text": "r\(index)", "replyTo": original]) }
        try await cost.waitUntil { bobClient.received({ $0["ev"] as? String == "message" }).count == 20 }
        try await Task.sleep(nanoseconds: 200_000_000)
        let reply = cost.delta(before, try await cost.commandStats(node.redis))
        #expect(reply["evalsha"] == 10, "\(reply)")
        print("rich-send-cost reply x10: \(reply.sorted { $0.key < $1.key })")

        // A shared post: the snapshot read, the send, then the share count and the author's notification.
        let post = try await node.createPost("a post to share", as: bob)["id"] as! String
        try await Task.sleep(nanoseconds: 300_000_000)  // the post's own fan-out
        before = try await cost.commandStats(node.redis)
        for index in 0..<10 { _ = try await sender.command(["op": "send", "conv": group, "text": "p\(index)", "post": post]) }
        try await cost.waitUntil { bobClient.received({ $0["ev"] as? String == "message" }).count == 30 }
        try await Task.sleep(nanoseconds: 300_000_000)
        let share = cost.delta(before, try await cost.commandStats(node.redis))
        #expect(share["hgetall"] == 10, "\(share)")
        print("rich-send-cost post share x10: \(share.sorted { $0.key < $1.key })")

        // An upload (REST: the token check, the rate limit, the metadata).
        before = try await cost.commandStats(node.redis)
        for _ in 0..<10 { _ = try await node.uploadID(RichMessageTests.png, type: "image/png", as: alice) }
        let upload = cost.delta(before, try await cost.commandStats(node.redis))
        print("rich-send-cost upload x10: \(upload.sorted { $0.key < $1.key })")
        await sender.close()
        await bobClient.close()
        await node.stop()
        try? FileManager.default.removeItem(atPath: configuration.uploads.directory)
    }
}
