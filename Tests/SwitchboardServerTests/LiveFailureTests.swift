import Foundation
import NIOCore
import NIOPosix
import RedisClient
import SwitchboardClient
import SwitchboardCore
import Testing

@Suite("Live delivery under failure", .serialized)
struct LiveFailureTests {
    @Test func pubsubConnectionKilledWhileMessagesFlow() async throws {
        let redis = try TestRedisServer()
        try await redis.start()
        let (a, b) = try await TestNode.pair {
            $0.redisURL = redis.url
            $0.redisClusterSeeds = []  // its own Redis, not the test cluster
            $0.limits.sendBurst = 10_000
        }
        let alice = try await a.register()
        let bob = try await a.register()
        let conv = try await a.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        let receiverB = try await LiveClient.authenticated(b, bob)
        let receiverA = try await LiveClient.authenticated(a, bob)
        let conversations = a.switchboard.conversations
        let total = 400
        let flow = Task {
            for index in 1...total {
                _ = try await conversations.send(conv, from: alice.id, text: "m\(index)", nonce: nil)
                if index % 20 == 0 { try await Task.sleep(nanoseconds: 5_000_000) }
            }
        }
        let admin = RedisClient(configuration: try RedisConfiguration(url: redis.url))
        var kills = 0
        for _ in 0..<3 {
            try await Task.sleep(nanoseconds: 30_000_000)
            kills += try await admin.send("CLIENT", "KILL", "TYPE", "pubsub").int ?? 0
        }
        try await flow.value
        #expect(kills >= 2)
        for client in [receiverA, receiverB] {
            // (On a timeout the checks below name what is missing.)
            let last = try? await client.waitFor(timeout: 30) { ($0["message"] as? [String: Any])?["seq"] as? Int == total }
            #expect(last != nil, "message \(total) never arrived")
            let seqs = client.messageSeqs(conv)
            let missing = Set(1..<total).subtracting(seqs).sorted()
            #expect(missing.isEmpty, "missing \(missing.prefix(10))")
            #expect(seqs.count == total - 1, "duplicates or missing: \(seqs.count) events")
            #expect(seqs == seqs.sorted(), "out of order")
        }
        await receiverA.close()
        await receiverB.close()
        await admin.shutdown()
        await a.stop()
        await b.stop()
    }

    @Test func slowConsumerIsClosedWith4008WhileOthersKeepUp() async throws {
        let node = try await TestNode.start(
            {
                var configuration = TestNode.configuration()
                configuration.limits.sendBurst = 100_000
                configuration.limits.sendRefillPerSecond = 100_000
                configuration.live.outboundMaxFrames = 64
                configuration.live.outboundMaxBytes = 256 * 1024
                configuration.live.closeTimeout = 15
                return configuration
            }())
        let alice = try await node.register()
        let bob = try await node.register()
        let carol = try await node.register()
        let conv = try await node.create(["kind": "group", "name": "Flood", "members": [bob.id, carol.id]], as: alice)["id"] as! String
        let slowConnection = try await WebSocketConnection.connect(
            host: "127.0.0.1", port: node.port, headers: [("Authorization", "Bearer \(bob.accessToken)")], receiveBufferSize: 4096)
        let slow = LiveClient(slowConnection)
        #expect(try await slow.command(["op": "ping"])["ok"] as? Bool == true)
        let healthy = try await LiveClient.authenticated(node, carol)
        await slowConnection.pauseReading()
        let sender = try await LiveClient.authenticated(node, alice)
        func overflowCloses() async throws -> Double {
            let text = try await node.request("GET", "/metrics").text
            let line = text.split(separator: "\n").first { $0.hasPrefix("switchboard_outbound_overflow_closes_total") }
            return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        }
        let closesBefore = try await overflowCloses()
        let text = String(repeating: "z", count: 4000)
        let total = 1500
        let flood = Task {
            for index in 1...total {
                try await sender.post(["op": "send", "conv": conv, "text": "\(index) \(text)"])
                if index % 100 == 0 { _ = try await sender.command(["op": "ping"]) }
            }
        }
        // The slow one is cut off; once it reads again it finds the close code 4008.
        var closesAfter = closesBefore
        for _ in 0..<800 where closesAfter == closesBefore {
            try await Task.sleep(nanoseconds: 25_000_000)
            closesAfter = try await overflowCloses()
        }
        #expect(closesAfter > closesBefore)
        await slowConnection.resumeReading()
        #expect(await slow.waitForClose(timeout: 10) == 4008)
        try await flood.value
        // The healthy reader gets everything.
        _ = try await healthy.waitFor(timeout: 30) { ($0["message"] as? [String: Any])?["seq"] as? Int == total }
        let seqs = healthy.messageSeqs(conv)
        // (waitFor took the last one out.)
        #expect(seqs == Array(1..<total), "healthy reader got \(seqs.count) events, missing \(Set(1..<total).subtracting(seqs).sorted().prefix(10))")
        #expect(!healthy.isClosed)
        let metrics = try await node.request("GET", "/metrics")
        #expect(metrics.text.contains("switchboard_outbound_overflow_closes_total"))
        await healthy.close()
        await sender.close()
        await node.stop()
    }
}
