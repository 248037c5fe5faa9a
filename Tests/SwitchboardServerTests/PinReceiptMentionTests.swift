import Foundation
import RedisClient
import SwitchboardClient
import SwitchboardCore
import Testing

extension TestNode {
    func pin(_ conv: String, _ message: String, on: Bool = true, as account: Account) async throws -> HTTPResult {
        try await request(on ? "PUT" : "DELETE", "/api/v1/conversations/\(conv)/pins/\(message)", token: account.accessToken)
    }

    func notifications(_ account: Account) async throws -> [[String: Any]] {
        try await request("GET", "/api/v1/notifications", token: account.accessToken).json["notifications"] as? [[String: Any]] ?? []
    }
}

@Suite("Pins, delivery receipts, mentions and mutes", .serialized)
struct PinReceiptMentionTests {
    /// Polls until `condition` holds (bounded: 10 s).
    func waitUntil(_ condition: () async throws -> Bool) async throws {
        for _ in 0..<500 {
            if try await condition() { return }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    @Test func pinsByRoleWithALimitAndEvents() async throws {
        let (a, b) = try await TestNode.pair { $0.limits.pinsPerConversation = 2 }
        let alice = try await a.register()
        let bob = try await a.register()
        let carol = try await b.register()
        let group = try await a.create(["kind": "group", "name": "Pins", "members": [bob.id, carol.id]], as: alice)["id"] as! String
        var ids: [String] = []
        for index in 0..<3 {
            ids.append(try await a.send(group, "m\(index)", as: alice).json["message"].flatMap { ($0 as? [String: Any])?["id"] as? String } ?? "")
        }
        let bobLive = try await LiveClient.authenticated(b, bob)

        // A plain member may not pin in a group; the owner and an admin may.
        let refused = try await b.pin(group, ids[0], as: bob)
        #expect(refused.status == 403 && refused.errorCode == "forbidden", "\(refused.text)")
        #expect(try await a.pin(group, ids[0], as: alice).status == 204)
        let event = try await bobLive.event("pin")
        #expect(event["conv"] as? String == group)
        #expect(event["id"] as? String == ids[0])
        #expect(event["on"] as? Bool == true)
        #expect(event["by"] as? String == alice.id)
        _ = try await a.request("PATCH", "/api/v1/conversations/\(group)/members/\(carol.id)", json: ["role": "admin"], token: alice.accessToken)
        #expect(try await b.pin(group, ids[1], as: carol).status == 204)
        // Two pins is this node's limit.
        let over = try await a.pin(group, ids[2], as: alice)
        #expect(over.status == 409 && over.errorCode == "conflict", "\(over.text)")
        #expect(try await a.request("GET", "/api/v1/conversations/\(group)/pins", token: carol.accessToken).status == 200)

        let pins = try await b.request("GET", "/api/v1/conversations/\(group)/pins", token: bob.accessToken).json["pins"] as? [[String: Any]] ?? []
        #expect(Set(pins.compactMap { $0["id"] as? String }) == [ids[0], ids[1]])
        #expect(pins.first { $0["id"] as? String == ids[1] }?["by"] as? String == carol.id)
        #expect((pins.first { $0["id"] as? String == ids[0] }?["message"] as? [String: Any])?["text"] as? String == "m0")
        #expect((pins.first { $0["id"] as? String == ids[0] }?["message"] as? [String: Any])?["pinned"] as? Bool == true)

        // Unpin: the event says so, history drops the flag, and a slot is free again.
        #expect(try await a.pin(group, ids[0], on: false, as: alice).status == 204)
        let unpinned = try await bobLive.event("pin") { $0["on"] as? Bool == false }
        #expect(unpinned["id"] as? String == ids[0])
        #expect(try await a.history(group, as: bob).first { $0["id"] as? String == ids[0] }?["pinned"] == nil)
        #expect(try await a.pin(group, ids[2], as: alice).status == 204)

        // A direct conversation: either side pins. A non-member gets 403.
        let direct = try await a.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        let said = try await a.send(direct, "hi", as: alice).json["message"] as? [String: Any]
        #expect(try await b.pin(direct, said?["id"] as? String ?? "", as: bob).status == 204)
        #expect(try await b.pin(direct, said?["id"] as? String ?? "", as: carol).errorCode == "not_member")
        // Outsiders read neither the pins nor the receipts of a group.
        let stranger = try await a.register()
        #expect(try await a.request("GET", "/api/v1/conversations/\(group)/pins", token: stranger.accessToken).errorCode == "not_member")
        let receipts = try await a.request(
            "GET", "/api/v1/conversations/\(group)/messages/\(ids[0])/receipts", token: stranger.accessToken)
        #expect(receipts.errorCode == "not_member")
        await bobLive.close()
        await a.stop()
        await b.stop()
    }

    @Test func deliveredPointersEventsAndReceipts() async throws {
        let (a, b) = try await TestNode.pair()
        let alice = try await a.register()
        let bob = try await b.register()
        let carol = try await b.register()
        let group = try await a.create(["kind": "group", "name": "Receipts", "members": [bob.id, carol.id]], as: alice)["id"] as! String
        let one = try await a.send(group, "one", as: alice).json["message"] as? [String: Any]
        let two = try await a.send(group, "two", as: alice).json["message"] as? [String: Any]
        let aliceLive = try await LiveClient.authenticated(a, alice)
        let bobLive = try await LiveClient.authenticated(b, bob)

        let moved = try await bobLive.command(["op": "delivered", "conv": group, "seq": 2])
        #expect(moved["seq"] as? Int == 2, "\(moved)")
        let event = try await aliceLive.event("delivered")
        #expect(event["conv"] as? String == group)
        #expect(event["user"] as? String == bob.id)
        #expect(event["seq"] as? Int == 2)
        // Forward only: nothing moves, nothing is published.
        #expect(try await bobLive.command(["op": "delivered", "conv": group, "seq": 1])["seq"] as? Int == 2)
        #expect(try await bobLive.command(["op": "delivered", "conv": "nope", "seq": 1])["ok"] as? Bool == false)
        _ = try await b.request("POST", "/api/v1/conversations/\(group)/read", json: ["seq": 1], token: carol.accessToken)

        func receipts(_ message: [String: Any]?, as account: TestNode.Account) async throws -> [String: Any] {
            try await b.request(
                "GET", "/api/v1/conversations/\(group)/messages/\(message?["id"] as? String ?? "")/receipts", token: account.accessToken
            ).json
        }
        let first = try await receipts(one, as: alice)
        #expect(first["delivered"] as? [String] == [bob.id, carol.id].sorted(), "\(first)")
        #expect(first["read"] as? [String] == [carol.id])
        let second = try await receipts(two, as: bob)
        #expect(second["delivered"] as? [String] == [bob.id])
        #expect(second["read"] as? [String] == [])
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(aliceLive.received { $0["ev"] as? String == "delivered" }.isEmpty)

        // Rooms: the pointer moves, no event; receipts are counts.
        let room = try await a.create(["kind": "room", "name": "Hall \(RandomID.make(length: 4))"], as: alice)["id"] as! String
        _ = try await a.request("POST", "/api/v1/conversations/\(room)/members", json: ["users": [bob.id]], token: bob.accessToken)
        let said = try await a.send(room, "hello room", as: alice).json["message"] as? [String: Any]
        _ = try await bobLive.event("conversation")
        #expect(try await bobLive.command(["op": "delivered", "conv": room, "seq": 1])["seq"] as? Int == 1)
        let counts = try await a.request(
            "GET", "/api/v1/conversations/\(room)/messages/\(said?["id"] as? String ?? "")/receipts", token: alice.accessToken
        ).json
        #expect(counts["delivered"] as? Int == 1, "\(counts)")
        #expect(counts["read"] as? Int == 0)
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(aliceLive.received { $0["ev"] as? String == "delivered" && $0["conv"] as? String == room }.isEmpty)
        await aliceLive.close()
        await bobLive.close()

        // The Swift SDK reports what it receives by itself.
        var sdkConfiguration = SwitchboardClient.Configuration(endpoints: [("127.0.0.1", b.port)], token: { carol.accessToken })
        sdkConfiguration.deliveryReceiptInterval = 0.2
        let sdk = SwitchboardClient(configuration: sdkConfiguration)
        let drain = Task { for await _ in sdk.events {} }
        try await sdk.connect()
        for index in 0..<3 { _ = try await a.send(group, "sdk \(index)", as: alice) }
        try await waitUntil { try await a.redis.send("HGET", a.keys.deliveredPointers(group), carol.id).string == "5" }
        #expect(try await a.redis.send("HGET", a.keys.deliveredPointers(group), carol.id).string == "5")
        #expect(try await sdk.react("👍", message: two?["id"] as? String ?? "", in: group) == 1)
        await sdk.close()
        drain.cancel()
        await a.stop()
        await b.stop()
    }

    @Test func mentionsNotifyOnlineMembersAndMutesSilenceTheRest() async throws {
        let (a, b) = try await TestNode.pair()
        let alice = try await a.register()
        let bob = try await b.register()
        let carol = try await b.register()
        let group = try await a.create(["kind": "group", "name": "Mentions", "members": [bob.id, carol.id]], as: alice)["id"] as! String
        let bobLive = try await LiveClient.authenticated(b, bob)

        // Bob is connected (node b) and mentioned: a `mention` notification, pushed at once.
        let sent = try await a.send(group, "hey @\(bob.username) look", as: alice).json["message"] as? [String: Any]
        let pushed = try await bobLive.event("notification")
        let notification = try #require(pushed["notification"] as? [String: Any])
        #expect(notification["type"] as? String == "mention")
        #expect(notification["conv"] as? String == group)
        #expect((notification["message"] as? [String: Any])?["id"] as? String == sent?["id"] as? String)
        #expect(try await b.notifications(bob).first?["type"] as? String == "mention")
        // Carol (offline, not mentioned) gets the plain message notification.
        try await waitUntil { try await b.notifications(carol).count == 1 }
        #expect(try await b.notifications(carol).first?["type"] as? String == "message")

        // Carol mutes: no message notifications, but a mention still comes; the mute shows for her only.
        let until = Int(Date().timeIntervalSince1970 * 1000) + 3_600_000
        let muted = try await b.request("PUT", "/api/v1/conversations/\(group)/mute", json: ["until": until], token: carol.accessToken)
        #expect((muted.json["conversation"] as? [String: Any])?["mutedUntil"] as? Int == until, "\(muted.text)")
        #expect((try await a.conversation(group, as: alice).json["conversation"] as? [String: Any])?["mutedUntil"] == nil)
        let listed = try await a.request("GET", "/api/v1/conversations", token: carol.accessToken).json["conversations"] as? [[String: Any]]
        #expect(listed?.first { $0["id"] as? String == group }?["mutedUntil"] as? Int == until)
        _ = try await a.send(group, "plain while muted", as: alice)
        _ = try await a.send(group, "@\(carol.username.uppercased()) you there?", as: alice)
        try await waitUntil { try await b.notifications(carol).count == 2 }
        try await Task.sleep(nanoseconds: 300_000_000)  // a notification of the plain message would be in by now
        let carols = try await b.notifications(carol)
        #expect(carols.map { $0["type"] as? String } == ["mention", "message"], "\(carols)")

        // Unmuted: message notifications again.
        #expect(try await b.request("DELETE", "/api/v1/conversations/\(group)/mute", token: carol.accessToken).status == 204)
        #expect((try await a.conversation(group, as: carol).json["conversation"] as? [String: Any])?["mutedUntil"] == nil)
        _ = try await a.send(group, "after unmute", as: alice)
        try await waitUntil { try await b.notifications(carol).count == 3 }
        #expect(try await b.notifications(carol).first?["type"] as? String == "message")

        // Not a member: no mute.
        let stranger = try await a.register()
        #expect(try await a.request("PUT", "/api/v1/conversations/\(group)/mute", json: ["until": until], token: stranger.accessToken).status == 403)
        // The sender's own mention and a non-member's name notify nobody.
        _ = try await a.send(group, "@\(alice.username) @\(stranger.username)", as: alice)
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(try await a.notifications(alice).isEmpty)
        #expect(try await a.notifications(stranger).isEmpty)
        await bobLive.close()
        await a.stop()
        await b.stop()
    }
}
