import Foundation
import SwitchboardCore
import Testing

/// Issue 12, bugs: notification order, and notifications of deleted conversations.
@Suite("Notifications: order and cleanup")
struct NotificationOrderTests {
    @Test func quickSendsToAnOfflineUserAreListedNewestFirstInSeqOrder() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let id = try await node.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        // 105 sends, 8 at a time: their notification jobs run concurrently.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<8 {
                group.addTask {
                    for index in stride(from: lane, to: 105, by: 8) {
                        let status = try await node.send(id, "m\(index)", as: alice).status
                        #expect(status == 201)
                    }
                }
            }
            try await group.waitForAll()
        }
        func seqs() async throws -> [Int] {
            let result = try await node.request("GET", "/api/v1/notifications", token: bob.accessToken)
            return (result.json["notifications"] as? [[String: Any]] ?? []).compactMap { ($0["message"] as? [String: Any])?["seq"] as? Int }
        }
        // Wait for the newest to be there and the list to be full, then check the order.
        try await eventually {
            let list = try await seqs()
            return list.count == 100 && list.contains(105)
        }
        try await eventually { try await seqs() == Array((6...105).reversed()) }
        #expect(try await seqs() == Array((6...105).reversed()))
        await node.stop()
    }

    @Test func deletingAConversationRemovesEveryMembersNotificationsOfIt() async throws {
        let node = try await TestNode.start()
        let owner = try await node.register()
        let bob = try await node.register()
        let carol = try await node.register()
        let doomed = try await node.create(["kind": "group", "name": "Doomed", "members": [bob.id, carol.id]], as: owner)["id"] as! String
        let kept = try await node.create(["kind": "group", "name": "Kept", "members": [bob.id]], as: owner)["id"] as! String
        for text in ["a", "b", "c"] { _ = try await node.send(doomed, text, as: owner) }
        _ = try await node.send(kept, "stays", as: owner)
        func conversations(of account: TestNode.Account) async throws -> [String] {
            let result = try await node.request("GET", "/api/v1/notifications", token: account.accessToken)
            return (result.json["notifications"] as? [[String: Any]] ?? []).compactMap { $0["conv"] as? String }
        }
        try await eventually {
            let bobs = try await conversations(of: bob).count
            let carols = try await conversations(of: carol).count
            return bobs == 4 && carols == 3
        }
        #expect(try await node.request("DELETE", "/api/v1/conversations/\(doomed)", token: owner.accessToken).status == 204)
        #expect(try await conversations(of: bob) == [kept])
        #expect(try await conversations(of: carol).isEmpty)
        // Leaving a group takes its notifications along too.
        #expect(try await node.request("DELETE", "/api/v1/conversations/\(kept)/members/\(bob.id)", token: bob.accessToken).status == 204)
        #expect(try await conversations(of: bob).isEmpty)
        await node.stop()
    }
}
