import Foundation
import RedisClient
import SwitchboardClient
import SwitchboardCore
import Testing

/// Issue 12, "A reset conversation silently drops messages": a direct
/// conversation deleted and opened again keeps its id but starts seq over;
/// its epoch tells old positions from new ones.
@Suite("Conversation epochs")
struct ConversationEpochTests {
    /// Alice sends 3 to Bob, the DM is deleted (both leave), Alice opens it
    /// again (same id) and sends 2: Bob's resume from position 3 of the old
    /// epoch is reset and replays the 2 new messages.
    @Test func aResumeFromAnOldEpochIsResetAndReplaysTheNewMessages() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let (id, oldEpoch) = try await reopenedDirect(node, alice, bob)

        let client = try await LiveClient.connect(node, token: bob.accessToken)
        let reply = try await client.command(["op": "resume", "positions": [id: ["seq": 3, "epoch": oldEpoch]]])
        #expect(reply["ok"] as? Bool == true, "\(reply)")
        #expect(reply["reset"] as? [String] == [id])
        #expect((reply["recovered"] as? [String: Any])?[id] as? Int == 2)
        #expect(reply["complete"] as? Bool == true)
        let replayed = client.received { $0["ev"] as? String == "message" }.compactMap { $0["message"] as? [String: Any] }
        #expect(replayed.compactMap { $0["text"] as? String } == ["new 1", "new 2"])
        #expect(replayed.compactMap { $0["seq"] as? Int } == [1, 2])
        let newEpoch = try #require(replayed.first?["epoch"] as? String)
        #expect(newEpoch != oldEpoch)
        // The notifications pushed on connect are the new epoch's only.
        _ = try await client.event("notification") { Self.epoch(of: $0) == newEpoch }
        _ = try await client.event("notification") { Self.epoch(of: $0) == newEpoch }
        #expect(client.received { $0["ev"] as? String == "notification" }.isEmpty)

        // A position of the current epoch, or one without an epoch (v1), is not reset.
        let again = try await client.command(["op": "resume", "positions": [id: ["seq": 1, "epoch": newEpoch]]])
        #expect(again["reset"] == nil)
        #expect((again["recovered"] as? [String: Any])?[id] as? Int == 1)
        let v1 = try await client.command(["op": "resume", "positions": [id: 2]])
        #expect(v1["reset"] == nil)
        #expect((v1["recovered"] as? [String: Any])?[id] as? Int == 0)
        await client.close()
        await node.stop()
    }

    @Test func theSwiftSDKStartsAResetConversationOver() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let (id, oldEpoch) = try await reopenedDirect(node, alice, bob)

        var configuration = SwitchboardClient.Configuration(endpoints: [("127.0.0.1", node.port)], token: { bob.accessToken })
        configuration.initialBackoff = 0.05
        let client = SwitchboardClient(configuration: configuration)
        // What Bob's app stored from the old epoch: he held messages 1-3.
        await client.setPosition(3, for: id, epoch: oldEpoch)
        let log = EpochLog()
        let collector = Task { for await event in client.events { await log.add(event) } }
        try await client.connect()
        try await eventually {
            let (texts, resets) = await (log.texts, log.resets)
            return texts == ["new 1", "new 2"] && resets == [id]
        }
        #expect(await client.contiguousPositions[id] == 2)
        let newEpoch = try #require(await client.conversationEpochs[id])
        #expect(newEpoch != oldEpoch)
        // Live messages of the new epoch go on from there.
        _ = try await node.send(id, "new 3", as: alice)
        try await eventually { await log.texts == ["new 1", "new 2", "new 3"] }
        #expect(await client.contiguousPositions[id] == 3)
        await client.close()
        collector.cancel()
        await node.stop()
    }

    @Test func aConversationFromBeforeEpochsKeepsWorking() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let id = try await node.create(["kind": "group", "name": "Old", "members": [bob.id]], as: alice)["id"] as! String
        _ = try await node.redis.send("HDEL", node.keys.conversation(id), "epoch")
        let sent = try await node.send(id, "hello", as: alice).json["message"] as? [String: Any]
        #expect(sent?["seq"] as? Int == 1)
        #expect(sent?["epoch"] == nil)
        #expect((try await node.conversation(id, as: bob).json["conversation"] as? [String: Any])?["epoch"] == nil)
        let client = try await LiveClient.connect(node, token: bob.accessToken)
        // A v1 position resumes as before; a position naming an epoch does not match "" and is reset.
        let v1 = try await client.command(["op": "resume", "positions": [id: 0]])
        #expect((v1["recovered"] as? [String: Any])?[id] as? Int == 1)
        #expect(v1["reset"] == nil)
        let stale = try await client.command(["op": "resume", "positions": [id: ["seq": 1, "epoch": "abcdefgh"]]])
        #expect(stale["reset"] as? [String] == [id])
        await client.close()
        await node.stop()
    }

    /// The scenario of the issue up to Bob's resume: answers the DM's id and its first epoch.
    private func reopenedDirect(_ node: TestNode, _ alice: TestNode.Account, _ bob: TestNode.Account) async throws -> (String, String) {
        let created = try await node.create(["kind": "direct", "with": bob.id], as: alice)
        let id = try #require(created["id"] as? String)
        let oldEpoch = try #require(created["epoch"] as? String)
        #expect(oldEpoch.count == 8)
        for text in ["old 1", "old 2", "old 3"] {
            let message = try await node.send(id, text, as: alice).json["message"] as? [String: Any]
            #expect(message?["epoch"] as? String == oldEpoch)
        }
        try await eventually { try await notifications(node, bob).count == 3 }
        // Deleted: each side leaves, the last leave deletes it.
        #expect(try await node.request("DELETE", "/api/v1/conversations/\(id)", token: bob.accessToken).status == 204)
        #expect(try await notifications(node, bob).isEmpty)
        #expect(try await node.request("DELETE", "/api/v1/conversations/\(id)", token: alice.accessToken).status == 204)
        #expect(try await node.redis.send("EXISTS", node.keys.conversation(id)).int == 0)
        // Opened again: same id, a new epoch, seq from 0.
        let reopened = try await node.create(["kind": "direct", "with": bob.id], as: alice)
        #expect(reopened["id"] as? String == id)
        #expect(reopened["seq"] as? Int == 0)
        let newEpoch = try #require(reopened["epoch"] as? String)
        #expect(newEpoch != oldEpoch)
        for text in ["new 1", "new 2"] { _ = try await node.send(id, text, as: alice) }
        try await eventually { try await notifications(node, bob).count == 2 }
        #expect(try await notifications(node, bob).allSatisfy { ($0["message"] as? [String: Any])?["epoch"] as? String == newEpoch })
        return (id, oldEpoch)
    }

    private func notifications(_ node: TestNode, _ account: TestNode.Account) async throws -> [[String: Any]] {
        try await node.request("GET", "/api/v1/notifications", token: account.accessToken).json["notifications"] as? [[String: Any]] ?? []
    }

    private static func epoch(of event: [String: Any]) -> String? {
        ((event["notification"] as? [String: Any])?["message"] as? [String: Any])?["epoch"] as? String
    }
}

/// What an SDK client reports of messages and resets.
actor EpochLog {
    var texts: [String] = []
    var resets: [String] = []
    func add(_ event: ChatEvent) {
        switch event {
        case .message(let message): texts.append(message.text)
        case .conversationReset(let conv):
            resets.append(conv)
            texts = []
        default: break
        }
    }
}
