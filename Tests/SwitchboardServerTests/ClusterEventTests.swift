import Foundation
import RedisClient
import SwitchboardCore
import SwitchboardTestSupport
import Testing

/// The event stream on a Redis Cluster of three masters: one stream per hash
/// slot (`sb:events:{<tag>}`), each written by the scripts of its slot on
/// the master that owns it; webhooks and `switchboard events tail` read
/// every stream, in order per conversation.
@Suite("Events on a Redis Cluster", .serialized)
struct ClusterEventTests {
    static let serverKey = "server-key-for-cluster-events-0123"

    /// Every `message.sent` text of `conv`, in the order of `events`.
    static func texts(_ events: [[String: Any]], conv: String) -> [String] {
        events.compactMap { event in
            guard event["type"] as? String == "message.sent",
                let message = (event["data"] as? [String: Any])?["message"] as? [String: Any],
                message["conv"] as? String == conv
            else { return nil }
            return message["text"] as? String
        }
    }

    static func json(_ text: some Sequence<UInt8>) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text))) as? [String: Any] ?? [:]
    }

    @Test func eachChangeLandsInItsSlotsStreamAndWebhooksAndTailReadEveryStream() async throws {
        let cluster = try await TestRedisCluster.start(replicasPerMaster: 0)
        defer { cluster.kill() }
        let receiver = WebhookReceiver(failFirst: 2)
        try await receiver.start()
        var configuration = TestNode.configuration()
        configuration.redisURL = "redis://"
        configuration.redisClusterSeeds = [cluster.seeds]
        configuration.auth.serverAPIKeys = [Self.serverKey]
        configuration.webhook.url = receiver.url
        configuration.webhook.secret = WebhookTests.secret
        configuration.webhook.maxAttempts = 10
        configuration.webhook.initialBackoff = 0.02
        configuration.webhook.maxBackoff = 0.1
        configuration.webhook.leaseTTL = 2
        var second = configuration
        second.nodeID = "n_" + RandomID.make(length: 8)
        let a = try await TestNode.start(configuration)
        let b = try await TestNode.start(second)
        #expect(a.switchboard.events.perSlot)
        // Webhooks deliver what is appended after their start mark.
        var marked = false
        for _ in 0..<500 where !marked {
            marked = try await a.redis.send("EXISTS", a.keys.webhookSince).int == 1
            if !marked { try await Task.sleep(nanoseconds: 20_000_000) }
        }
        #expect(marked)

        let alice = try await a.register()
        let bob = try await b.register()
        let carol = try await a.register()
        // Conversations until their slots are on every master.
        var conversations: [String] = []
        var masters: Set<Int> = []
        while masters.count < 3, conversations.count < 40 {
            let conv = try await a.create(["kind": "group", "name": "G", "members": [bob.id, carol.id]], as: alice)["id"] as! String
            conversations.append(conv)
            masters.insert(try await cluster.masterPort(forKey: a.keys.conversation(conv)))
        }
        #expect(masters.count == 3)
        for (index, conv) in conversations.enumerated() {
            for message in 0..<3 {
                let node = message.isMultiple(of: 2) ? a : b
                #expect(try await node.send(conv, "c\(index) m\(message)", as: message == 1 ? bob : alice).status == 201)
            }
        }

        // Each conversation's events are in its slot's stream, on the master owning the slot, in order.
        var total = 0
        var streamsSeen: Set<String> = []
        for (index, conv) in conversations.enumerated() {
            let slot = RedisHashSlot(key: a.keys.conversation(conv)).rawValue
            let stream = a.keys.events(slot: slot)
            #expect(RedisHashSlot(key: stream).rawValue == slot)
            let port = try await cluster.masterPort(forKey: stream)
            let owner = try await cluster.masterPort(forKey: a.keys.conversation(conv))
            #expect(port == owner)
            let reply = try await cluster.node(port: port)!.command("XRANGE", stream, "-", "+")
            let events = EventEntry.decode(reply).map { Self.json($0.json.utf8) }
            #expect(Self.texts(events, conv: conv) == (0..<3).map { "c\(index) m\($0)" })
            #expect(events.contains { $0["type"] as? String == "conversation.created" })
            streamsSeen.insert(stream)
        }
        // The locator finds every stream (the users' too); /server/stats counts their entries.
        let locator = EventStreamLocator(redis: a.redis, keys: a.keys, perSlot: true)
        let streams = try await locator.streams()
        #expect(streamsSeen.isSubset(of: Set(streams)))
        let single = try await a.redis.send("EXISTS", a.keys.events).int
        #expect(single == 0)  // no single stream on a cluster
        for stream in streams { total += try await a.redis.send("XLEN", stream).int ?? 0 }
        #expect(total >= conversations.count * 4 + 3)  // created + 3 messages each, 3 user.created
        let stats = try await a.request("GET", "/api/v1/server/stats", token: Self.serverKey)
        #expect(stats.json["events"] as? Int == total, "\(stats.text)")

        // Webhooks: every event of every stream, each once, in order per conversation.
        let accepted = try await receiver.waitForAccepted(total, timeout: 60)
        #expect(accepted.count == total)
        #expect(Set(accepted.map { String(decoding: $0.body, as: UTF8.self) }).count == total)
        let delivered = accepted.map { Self.json($0.body) }
        for (index, conv) in conversations.enumerated() {
            #expect(Self.texts(delivered, conv: conv) == (0..<3).map { "c\(index) m\($0)" })
        }
        #expect(accepted.allSatisfy { WebhookTests.verify($0.signature, secret: WebhookTests.secret, body: $0.body) })

        // `switchboard events tail --redis-cluster … --from-start`: every event, each line naming its stream.
        guard FileManager.default.isExecutableFile(atPath: NodeProcess.binary) else {
            throw TestSupportError("\(NodeProcess.binary) is missing: run `swift build --product switchboard` (scripts/test does)")
        }
        let tail = Process()
        tail.executableURL = URL(fileURLWithPath: NodeProcess.binary)
        tail.arguments = [
            "events", "tail", "--redis-cluster", cluster.seeds, "--prefix", a.switchboard.configuration.prefix, "--from-start",
            "--count", "\(total)",
        ]
        let output = Pipe()
        tail.standardOutput = output
        tail.standardError = FileHandle.nullDevice
        try tail.run()
        let printed = try await OffPool.run {
            let data = output.fileHandleForReading.readDataToEndOfFile()
            tail.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        #expect(tail.terminationStatus == 0)
        let lines = printed.split(separator: "\n").map { Self.json($0.utf8) }
        #expect(lines.count == total)
        #expect(lines.allSatisfy { ($0["stream"] as? String).map(streams.contains) == true && $0["id"] is String })
        for (index, conv) in conversations.enumerated() {
            #expect(Self.texts(lines, conv: conv) == (0..<3).map { "c\(index) m\($0)" })
        }

        await a.stop()
        await b.stop()
        await receiver.stop()
    }
}
