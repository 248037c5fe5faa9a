import Foundation
import RedisClient
import SwitchboardCore
import Testing

extension TestNode {
    /// Every event of the stream so far, oldest first, as JSON objects with their entry `id`.
    func events() async throws -> [[String: Any]] {
        let reply = try await redis.send("XRANGE", keys.events, "-", "+")
        return EventEntry.decode(reply).map { entry in
            var object = (try? JSONSerialization.jsonObject(with: Data(entry.json.utf8))) as? [String: Any] ?? [:]
            object["id"] = entry.id
            return object
        }
    }

    /// Waits (bounded) until the stream holds at least `count` events.
    func waitForEvents(_ count: Int) async throws -> [[String: Any]] {
        for _ in 0..<500 {
            let events = try await events()
            if events.count >= count { return events }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        return try await events()
    }
}

extension EventEntry {
    /// Entries of an XRANGE reply (test helper over the stream's wire shape).
    static func decode(_ reply: RedisValue) -> [EventEntry] {
        (reply.array ?? []).compactMap { entry in
            guard let parts = entry.array, parts.count == 2, let id = parts[0].string,
                let fields = parts[1].array, fields.count >= 2, let json = fields[1].string
            else { return nil }
            return EventEntry(id: id, json: json)
        }
    }
}

/// What an event is about, for comparing streams: `type conv-or-user [detail]`.
private func describe(_ event: [String: Any]) -> String {
    let type = event["type"] as? String ?? "?"
    let data = event["data"] as? [String: Any] ?? [:]
    let message = data["message"] as? [String: Any]
    let conversation = data["conversation"] as? [String: Any]
    let user = (data["user"] as? String) ?? ((data["user"] as? [String: Any])?["id"] as? String)
    switch type {
    case "message.sent", "message.edited", "message.deleted": return "\(type) \(message?["seq"] ?? "?")"
    case "conversation.created", "conversation.updated", "conversation.deleted": return "\(type) \(conversation?["id"] ?? "?")"
    case "member.added", "member.removed": return "\(type) \(user ?? "?")"
    case "member.role_changed": return "\(type) \(user ?? "?") \(data["role"] ?? "?")"
    default: return "\(type) \(user ?? "?")"
    }
}

@Suite(
    "Event stream (sb:events)", .serialized,
    .disabled(
        if: TestEnvironment.redisCluster,
        "compares the order of events across conversations and users, which only one stream has; ClusterEventTests covers the per-slot streams"))
struct EventStreamTests {
    @Test func everyChangeAppendsOneEventAcrossTwoNodesAndRefusalsNone() async throws {
        let (a, b) = try await TestNode.pair()
        let alice = try await a.register()
        let bob = try await b.register()
        let carol = try await a.register()
        let stranger = try await b.register()
        #expect(try await b.request("PATCH", "/api/v1/users/me", json: ["bio": "hi"], token: alice.accessToken).status == 200)

        let conv = try await a.create(["kind": "group", "name": "Events", "members": [bob.id]], as: alice)["id"] as! String
        #expect(
            try await b.request("POST", "/api/v1/conversations/\(conv)/members", json: ["users": [carol.id]], token: alice.accessToken).status == 200)
        let aliceLive = try await LiveClient.authenticated(a, alice)
        let bobLive = try await LiveClient.authenticated(b, bob)
        let sent = try await bobLive.command(["op": "send", "conv": conv, "text": "one", "nonce": "n1"])
        let first = try #require(sent["message"] as? [String: Any])
        #expect(try await a.send(conv, "two", as: alice).status == 201)
        // Refused or repeated: no event.
        _ = try await bobLive.command(["op": "send", "conv": conv, "text": "one", "nonce": "n1"])
        #expect(try await b.send(conv, "nope", as: stranger).status == 403)
        let refusedEdit = try await aliceLive.command(["op": "edit", "conv": conv, "msg": first["id"]!, "text": "not mine"])
        #expect(refusedEdit["ok"] as? Bool == false)
        #expect(try await b.request("DELETE", "/api/v1/conversations/\(conv)", token: bob.accessToken).status == 403)
        _ = try await bobLive.command(["op": "typing", "conv": conv, "active": true])
        _ = try await bobLive.command(["op": "read", "conv": conv, "seq": 2])  // read.updated is opt-in
        // Accepted changes.
        _ = try await bobLive.command(["op": "edit", "conv": conv, "msg": first["id"]!, "text": "one!"])
        _ = try await aliceLive.command(["op": "delete", "conv": conv, "msg": first["id"]!])
        #expect(try await b.request("PATCH", "/api/v1/conversations/\(conv)", json: ["name": "Renamed"], token: alice.accessToken).status == 200)
        #expect(
            try await a.request("PATCH", "/api/v1/conversations/\(conv)/members/\(carol.id)", json: ["role": "admin"], token: alice.accessToken)
                .status == 200)
        #expect(try await a.request("DELETE", "/api/v1/conversations/\(conv)/members/\(carol.id)", token: alice.accessToken).status == 204)
        await aliceLive.close()
        #expect(try await b.request("DELETE", "/api/v1/conversations/\(conv)", token: alice.accessToken).status == 204)

        let events = try await a.waitForEvents(18)
        try await Task.sleep(nanoseconds: 300_000_000)  // anything late would show up now
        let all = try await a.events()
        #expect(all.count == events.count)
        let described = all.map(describe)
        // Per conversation: in the order the changes were made.
        let conversationEvents = all.filter {
            let data = $0["data"] as? [String: Any] ?? [:]
            return data["conv"] as? String == conv || (data["message"] as? [String: Any])?["conv"] as? String == conv
                || (data["conversation"] as? [String: Any])?["id"] as? String == conv
        }.map(describe)
        #expect(
            conversationEvents == [
                "conversation.created \(conv)", "member.added \(carol.id)", "message.sent 1", "message.sent 2", "message.edited 1",
                "message.deleted 1", "conversation.updated \(conv)", "member.role_changed \(carol.id) admin",
                "member.removed \(carol.id)", "conversation.deleted \(conv)",
            ], "\(described)")
        // Users and presence: each exactly once.
        let others = Set(described).subtracting(conversationEvents)
        #expect(
            others == [
                "user.created \(alice.id)", "user.created \(bob.id)", "user.created \(carol.id)", "user.created \(stranger.id)",
                "user.updated \(alice.id)", "presence.online \(alice.id)", "presence.online \(bob.id)", "presence.offline \(alice.id)",
            ], "\(described)")
        #expect(described.count == conversationEvents.count + others.count, "duplicates in \(described)")
        // The envelope: type, ts, data; no password anywhere.
        let created = try #require(all.first { $0["type"] as? String == "user.created" })
        #expect((created["ts"] as? Int ?? 0) > 0)
        #expect(!all.contains { String(describing: $0).contains("scrypt") })
        let message = try #require(all.first { $0["type"] as? String == "message.sent" }?["data"] as? [String: Any])
        #expect((message["message"] as? [String: Any])?["text"] as? String == "one")
        await bobLive.close()
        await a.stop()
        await b.stop()
    }

    @Test func readUpdatedOnlyWhenIncludedAndNothingWhenOff() async throws {
        let (a, b) = try await TestNode.pair { $0.events.includeRead = true }
        let alice = try await a.register()
        let bob = try await a.register()
        let conv = try await a.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        #expect(try await a.send(conv, "hi", as: alice).status == 201)
        #expect(try await b.request("POST", "/api/v1/conversations/\(conv)/read", json: ["seq": 1], token: bob.accessToken).status == 200)
        #expect(try await b.request("POST", "/api/v1/conversations/\(conv)/read", json: ["seq": 1], token: bob.accessToken).status == 200)
        let events = try await a.waitForEvents(5)
        #expect(events.map(describe).filter { $0.hasPrefix("read.") } == ["read.updated \(bob.id)"])
        await a.stop()
        await b.stop()

        var off = TestNode.configuration()
        off.events.enabled = false
        let node = try await TestNode.start(off)
        let carol = try await node.register()
        let dave = try await node.register()
        let direct = try await node.create(["kind": "direct", "with": dave.id], as: carol)["id"] as! String
        #expect(try await node.send(direct, "quiet", as: carol).status == 201)
        #expect(try await node.redis.send("EXISTS", node.keys.events).int == 0)
        await node.stop()
    }

    @Test func deadNodeSweepEmitsOfflineForItsUsers() async throws {
        let (a, b) = try await TestNode.pair()
        let alice = try await a.register()
        // A node that died with alice connected: its entries are left behind.
        _ = try await a.switchboard.presence.connect(user: alice.id, member: "n_dead0001/1")
        try await b.switchboard.presence.removeNode("n_dead0001")
        let presence = try await a.events().map(describe).filter { $0.hasPrefix("presence.") }
        #expect(presence == ["presence.online \(alice.id)", "presence.offline \(alice.id)"])
        await a.stop()
        await b.stop()
    }

    @Test func aConsumerGroupOfTwoSeesEachEventOnce() async throws {
        let (a, b) = try await TestNode.pair()
        let alice = try await a.register()
        let bob = try await b.register()
        let conv = try await a.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        func reader() throws -> (RedisClient, EventReader) {
            var configuration = try RedisConfiguration(url: TestNode.redisURL)
            configuration.poolSize = 1
            let client = RedisClient(configuration: configuration)
            return (client, EventReader(redis: client, stream: a.keys.events))
        }
        let (client1, reader1) = try reader()
        let (client2, reader2) = try reader()
        try await reader1.createGroup("backend", start: "0")
        try await reader2.createGroup("backend", start: "0")  // already there: fine

        for index in 0..<40 {
            let node = index.isMultiple(of: 2) ? a : b
            #expect(try await node.send(conv, "m\(index)", as: index.isMultiple(of: 3) ? alice : bob).status == 201)
        }
        let total = try await a.events().count
        #expect(total == 2 + 1 + 40)
        // Consumer 1 reads some and "crashes" before acknowledging them.
        let lost = try await reader1.read(group: "backend", consumer: "c1", count: 5)
        #expect(lost.count == 5)
        // Both consumers drain the rest concurrently, acknowledging.
        func drain(_ reader: EventReader, _ name: String) async throws -> [String] {
            var seen: [String] = []
            while true {
                let entries = try await reader.read(group: "backend", consumer: name, count: 3, blockMilliseconds: 200)
                if entries.isEmpty { return seen }
                seen += entries.map(\.id)
                try await reader.acknowledge(group: "backend", ids: entries.map(\.id))
            }
        }
        async let first = drain(reader1, "c1")
        async let second = drain(reader2, "c2")
        let (ids1, ids2) = try await (first, second)
        #expect(Set(ids1).isDisjoint(with: ids2))
        #expect(Set(ids1 + ids2).count == ids1.count + ids2.count)
        // Consumer 2 recovers the unacknowledged ones (XAUTOCLAIM), each once.
        let claimed = try await reader2.claim(group: "backend", consumer: "c2", minIdleMilliseconds: 0)
        #expect(claimed.map(\.id) == lost.map(\.id))
        #expect(claimed.allSatisfy { $0.deliveries == 2 })
        try await reader2.acknowledge(group: "backend", ids: claimed.map(\.id))
        #expect(Set(ids1 + ids2 + claimed.map(\.id)).count == total)
        #expect(ids1.count + ids2.count + claimed.count == total)
        #expect(try await reader2.claim(group: "backend", consumer: "c2", minIdleMilliseconds: 0).isEmpty)
        await client1.shutdown()
        await client2.shutdown()
        await a.stop()
        await b.stop()
    }
}
