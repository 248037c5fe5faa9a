import Foundation
import RedisClient
import SwitchboardCore
import Testing

/// Issue 12, item 11: in a direct conversation both sides are equal.
@Suite("Direct conversations have no owner")
struct DirectConversationTests {
    @Test func neitherSideHasOwnerPowers() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let created = try await node.create(["kind": "direct", "with": bob.id], as: alice)
        let id = try #require(created["id"] as? String)
        let roles = (created["members"] as? [[String: Any]] ?? []).compactMap { $0["role"] as? String }
        #expect(roles == ["member", "member"])
        let bobs = try #require((try await node.send(id, "from bob", as: bob).json["message"] as? [String: Any])?["id"] as? String)
        // The opener cannot delete the other's message, rename, or change roles.
        let delete = try await node.request("DELETE", "/api/v1/conversations/\(id)/messages/\(bobs)", token: alice.accessToken)
        #expect(delete.errorCode == "forbidden")
        #expect(
            try await node.request("PATCH", "/api/v1/conversations/\(id)", json: ["name": "mine"], token: alice.accessToken).errorCode == "forbidden")
        let role = try await node.request("PATCH", "/api/v1/conversations/\(id)/members/\(bob.id)", json: ["role": "owner"], token: alice.accessToken)
        #expect(role.errorCode == "forbidden")
        #expect(try await node.request("DELETE", "/api/v1/conversations/\(id)/members/\(bob.id)", token: alice.accessToken).errorCode == "forbidden")
        // Each may delete their own.
        #expect(try await node.request("DELETE", "/api/v1/conversations/\(id)/messages/\(bobs)", token: bob.accessToken).status == 200)
        await node.stop()
    }

    @Test func aDirectConversationCreatedWithAnOwnerGivesItNoPowers() async throws {
        // Direct conversations stored before this rule have an owner: the scripts look at the kind.
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let id = try await node.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        _ = try await node.redis.send("HSET", node.keys.members(id), alice.id, "owner")
        let bobs = try #require((try await node.send(id, "from bob", as: bob).json["message"] as? [String: Any])?["id"] as? String)
        #expect(try await node.request("DELETE", "/api/v1/conversations/\(id)/messages/\(bobs)", token: alice.accessToken).errorCode == "forbidden")
        #expect(try await node.request("DELETE", "/api/v1/conversations/\(id)", token: alice.accessToken).status == 204)
        // Alice left; Bob did not become anybody's owner and keeps everything.
        let members = try await node.redis.send("HGETALL", node.keys.members(id)).stringPairs ?? [:]
        #expect(members == [bob.id: "member"])
        let history = try await node.request("GET", "/api/v1/conversations/\(id)/messages", token: bob.accessToken)
        #expect((history.json["messages"] as? [Any])?.count == 1)
        await node.stop()
    }

    @Test func deletingHidesItForTheCallerOnly() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let id = try await node.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        for text in ["one", "two", "three"] { _ = try await node.send(id, text, as: alice) }
        // Bob is offline: he has three notifications of it.
        try await eventually {
            try await node.request("GET", "/api/v1/notifications", token: bob.accessToken).json["notifications"].map { ($0 as? [Any])?.count == 3 }
                == true
        }
        #expect(try await node.request("DELETE", "/api/v1/conversations/\(id)", token: alice.accessToken).status == 204)
        // Gone for Alice.
        let aliceList = try await node.request("GET", "/api/v1/conversations", token: alice.accessToken)
        #expect((aliceList.json["conversations"] as? [Any])?.isEmpty == true)
        #expect(try await node.conversation(id, as: alice).errorCode == "not_member")
        // Bob keeps it, its history, his read state and his notifications.
        let bobList = try await node.request("GET", "/api/v1/conversations", token: bob.accessToken)
        let bobs = try #require((bobList.json["conversations"] as? [[String: Any]])?.first)
        #expect(bobs["id"] as? String == id)
        #expect(bobs["unread"] as? Int == 3)
        let history = try await node.request("GET", "/api/v1/conversations/\(id)/messages", token: bob.accessToken)
        #expect(((history.json["messages"] as? [[String: Any]]) ?? []).compactMap { $0["text"] as? String } == ["one", "two", "three"])
        let notes = try await node.request("GET", "/api/v1/notifications", token: bob.accessToken)
        #expect((notes.json["notifications"] as? [Any])?.count == 3)
        // Bob may still write; Alice opening the pair again sees it back.
        #expect(try await node.send(id, "still here", as: bob).status == 201)
        #expect(
            try await node.request("POST", "/api/v1/conversations", json: ["kind": "direct", "with": bob.id], token: alice.accessToken).status == 200)
        #expect(try await node.conversation(id, as: alice).status == 200)
        await node.stop()
    }
}

/// Polls until `condition` holds (for background work such as notifications), failing after 10 s.
func eventually(_ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(10)
    while Date() < deadline {
        if try await condition() { return }
        try await Task.sleep(nanoseconds: 20_000_000)
    }
    Issue.record("condition not met within 10 s")
}
