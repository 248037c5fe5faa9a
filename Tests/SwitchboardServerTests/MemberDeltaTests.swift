import Foundation
import RedisClient
import SwitchboardClient
import SwitchboardCore
import Testing

/// Issue 12, item 4: a join or leave used to broadcast the whole member list
/// to every member (O(members²) bytes per churn). Members now get what changed.
@Suite("Member list deltas")
struct MemberDeltaTests {
    @Test func aJoinSendsEachMemberAnEventOfBoundedSizeAndTheSDKKeepsTheList() async throws {
        let node = try await TestNode.start()
        let owner = try await node.register()
        // The owner's SDK client: it learns the room whole from "added", then only changes.
        var configuration = SwitchboardClient.Configuration(endpoints: [("127.0.0.1", node.port)], token: { owner.accessToken })
        configuration.initialBackoff = 0.05
        let sdk = SwitchboardClient(configuration: configuration)
        let log = ConversationLog()
        let collector = Task { for await event in sdk.events { await log.add(event) } }
        try await sdk.connect()
        let room = try await node.create(["kind": "room", "name": "Big", "public": true], as: owner)["id"] as! String
        try await eventually { await sdk.members(of: room)?.map(\.id) == [owner.id] }

        var others: [TestNode.Account] = []
        for _ in 0..<60 { others.append(try await node.register()) }
        let add = try await node.request(
            "POST", "/api/v1/conversations/\(room)/members", json: ["users": others.map(\.id)], token: owner.accessToken)
        #expect(add.status == 200)
        let watcher = try await LiveClient.authenticated(node, others[0])

        // A join: every member gets the change, not the 62-entry list.
        let joiner = try await node.register()
        let join = try await node.request("POST", "/api/v1/conversations/\(room)/members", json: ["users": [joiner.id]], token: joiner.accessToken)
        #expect(join.status == 200)
        let event = try await watcher.event("conversation") {
            (($0["members"] as? [String: Any])?["added"] as? [[String: Any]])?.first?["id"] as? String == joiner.id
        }
        #expect(event["change"] as? String == "updated")
        #expect((event["conversation"] as? [String: Any])?["members"] == nil)
        #expect((event["members"] as? [String: Any])?["added"] as? [[String: String]] == [["id": joiner.id, "role": "member"]])
        let bytes = try JSONSerialization.data(withJSONObject: event).count
        #expect(bytes < 600, "the event is \(bytes) bytes")

        // A leave, a removal with a role change, and a role change: the SDK's list follows each.
        #expect(try await node.request("DELETE", "/api/v1/conversations/\(room)/members/\(others[1].id)", token: others[1].accessToken).status == 204)
        let leave = try await watcher.event("conversation") { ($0["members"] as? [String: Any])?["removed"] as? [String] == [others[1].id] }
        #expect(try JSONSerialization.data(withJSONObject: leave).count < 600)
        let promoted = try await node.request(
            "PATCH", "/api/v1/conversations/\(room)/members/\(others[2].id)", json: ["role": "admin"], token: owner.accessToken)
        #expect(promoted.status == 200)
        // The owner leaves: the longest-standing admin becomes owner.
        #expect(try await node.request("DELETE", "/api/v1/conversations/\(room)/members/\(owner.id)", token: owner.accessToken).status == 204)
        let handOver = try await watcher.event("conversation") { ($0["members"] as? [String: Any])?["removed"] as? [String] == [owner.id] }
        #expect((handOver["members"] as? [String: Any])?["changed"] as? [[String: String]] == [["id": others[2].id, "role": "owner"]])

        // Before leaving, the owner's SDK followed every change up to its own leave.
        let expected = Set([owner.id] + others.map(\.id) + [joiner.id]).subtracting([others[1].id])
        try await eventually { await log.removed.contains(room) }
        #expect(Set(await log.lastMembers(room) ?? []) == expected)
        #expect(await log.roles[others[2].id] == "admin")
        // And what the hub holds now is what the deltas add up to.
        let now = try await node.conversation(room, as: others[0]).json["conversation"] as? [String: Any]
        let ids = Set((now?["members"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
        #expect(ids == expected.subtracting([owner.id]))
        await watcher.close()
        await sdk.close()
        collector.cancel()
        await node.stop()
    }
}

/// The member lists an SDK client reported with its `conversation` events.
actor ConversationLog {
    var members: [String: [String]] = [:]
    var roles: [String: String] = [:]
    var removed: Set<String> = []
    func add(_ event: ChatEvent) {
        guard case .conversation(let conversation, let change, _) = event else { return }
        if change == "removed" {
            removed.insert(conversation.id)
            return
        }
        if let list = conversation.members {
            members[conversation.id] = list.map(\.id)
            for member in list { roles[member.id] = member.role.rawValue }
        }
    }
    func lastMembers(_ conversation: String) -> [String]? { members[conversation] }
}
