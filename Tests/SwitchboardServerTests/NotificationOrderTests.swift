import Foundation
import SwitchboardCore
import Testing

/// Issue 12, bugs: notification order.
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
        try await eventually { let list = try await seqs(); return list.count == 100 && list.contains(105) }
        try await eventually { try await seqs() == Array((6...105).reversed()) }
        #expect(try await seqs() == Array((6...105).reversed()))
        await node.stop()
    }
}
