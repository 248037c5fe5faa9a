import Foundation
import RedisClient
import SwitchboardClient
import SwitchboardCore
import Testing

extension TestNode {
    /// Two nodes sharing one Redis and one key prefix.
    static func pair(_ configure: (inout SwitchboardConfiguration) -> Void = { _ in }) async throws -> (TestNode, TestNode) {
        var configuration = TestNode.configuration()
        configure(&configuration)
        var second = configuration
        second.nodeID = "n_" + RandomID.make(length: 8)
        return (try await TestNode.start(configuration), try await TestNode.start(second))
    }
}

@Suite("Live delivery across nodes", .serialized)
struct LiveDeliveryTests {
    @Test func crossNodeDeliveryAndEcho() async throws {
        let (a, b) = try await TestNode.pair()
        let alice = try await a.register()
        let bob = try await a.register()
        let conv = try await a.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        let alice1 = try await LiveClient.authenticated(a, alice)
        let alice2 = try await LiveClient.authenticated(b, alice)
        let bob1 = try await LiveClient.authenticated(b, bob)
        let bob2 = try await LiveClient.authenticated(a, bob)

        let reply = try await alice1.command(["op": "send", "conv": conv, "text": "hello", "nonce": "k1"])
        #expect(reply["ok"] as? Bool == true)
        let message = try #require(reply["message"] as? [String: Any])
        #expect(message["seq"] as? Int == 1)
        #expect(message["text"] as? String == "hello")
        for client in [alice2, bob1, bob2] {
            let event = try await client.event("message")
            #expect((event["message"] as? [String: Any])?["id"] as? String == message["id"] as? String)
            #expect(event["origin"] == nil)
        }
        // The sending connection got the reply, not the event.
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(alice1.received { $0["ev"] as? String == "message" }.isEmpty)

        // Nonce retry: the first message again, nothing broadcast.
        let retry = try await alice1.command(["op": "send", "conv": conv, "text": "hello", "nonce": "k1"])
        #expect((retry["message"] as? [String: Any])?["id"] as? String == message["id"] as? String)

        // Edits, deletes, reads and typing reach the other side.
        _ = try await alice1.command(["op": "edit", "conv": conv, "msg": message["id"]!, "text": "hello!"])
        let edited = try await bob1.event("message.edited")
        #expect((edited["message"] as? [String: Any])?["text"] as? String == "hello!")
        _ = try await bob1.command(["op": "typing", "conv": conv, "active": true])
        let typing = try await alice2.event("typing")
        #expect(typing["user"] as? String == bob.id)
        #expect(typing["active"] as? Bool == true)
        let read = try await bob1.command(["op": "read", "conv": conv, "seq": 1])
        #expect(read["unread"] as? Int == 0)
        let readEvent = try await alice2.event("read")
        #expect(readEvent["user"] as? String == bob.id)
        #expect(readEvent["seq"] as? Int == 1)
        _ = try await alice1.command(["op": "delete", "conv": conv, "msg": message["id"]!])
        let deleted = try await bob2.event("message.deleted")
        #expect((deleted["message"] as? [String: Any])?["deleted"] as? Bool == true)
        let history = try await bob1.command(["op": "history", "conv": conv])
        #expect((history["messages"] as? [[String: Any]])?.first?["deleted"] as? Bool == true)
        #expect(history["more"] as? Bool == false)
        // Not a member: refused.
        let carol = try await a.register()
        let carolClient = try await LiveClient.authenticated(b, carol)
        let refused = try await carolClient.command(["op": "send", "conv": conv, "text": "hi"])
        #expect((refused["error"] as? [String: Any])?["code"] as? String == "not_member")
        for client in [alice1, alice2, bob1, bob2, carolClient] { await client.close() }
        await a.stop()
        await b.stop()
    }

    @Test func rapidSendsKeepSeqOrder() async throws {
        let (a, b) = try await TestNode.pair { $0.limits.sendBurst = 10_000 }
        let alice = try await a.register()
        let bob = try await a.register()
        let conv = try await a.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        let sender = try await LiveClient.authenticated(a, alice)
        let receiver = try await LiveClient.authenticated(b, bob)
        var ids: [Int] = []
        for index in 0..<500 { ids.append(try await sender.post(["op": "send", "conv": conv, "text": "m\(index)"])) }
        var replySeqs: [Int] = []
        for id in ids {
            let reply = try await sender.waitFor { $0["re"] as? Int == id }
            replySeqs.append((reply["message"] as? [String: Any])?["seq"] as? Int ?? -1)
        }
        #expect(replySeqs == Array(1...500))
        _ = try await receiver.waitFor { ($0["message"] as? [String: Any])?["seq"] as? Int == 500 }
        #expect(receiver.messageSeqs(conv) == Array(1...499))
        await sender.close()
        await receiver.close()
        await a.stop()
        await b.stop()
    }

    @Test func resumeAfterDisconnectReplaysExactlyTheMissed() async throws {
        let (a, b) = try await TestNode.pair()
        let alice = try await a.register()
        let bob = try await a.register()
        let conv = try await a.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        let sender = try await LiveClient.authenticated(a, alice)
        for index in 1...3 { _ = try await sender.command(["op": "send", "conv": conv, "text": "before \(index)"]) }
        for index in 1...10 { _ = try await sender.command(["op": "send", "conv": conv, "text": "missed \(index)"]) }
        let bobClient = try await LiveClient.authenticated(b, bob)
        let reply = try await bobClient.command(["op": "resume", "positions": [conv: 3, "c_unknown": 0]])
        #expect(reply["ok"] as? Bool == true)
        #expect((reply["recovered"] as? [String: Any])?[conv] as? Int == 10)
        #expect(reply["complete"] as? Bool == true)
        #expect(reply["denied"] as? [String] == ["c_unknown"])
        #expect((reply["recovered"] as? [String: Any])?["c_unknown"] as? Int == 0)
        // The replayed events came before the reply, in order.
        #expect(bobClient.messageSeqs(conv) == Array(4...13))
        let texts = bobClient.received { $0["ev"] as? String == "message" }.compactMap { ($0["message"] as? [String: Any])?["text"] as? String }
        #expect(texts.first == "missed 1")
        // Nothing missed: recovered 0.
        let again = try await bobClient.command(["op": "resume", "positions": [conv: 13]])
        #expect((again["recovered"] as? [String: Any])?[conv] as? Int == 0)
        await sender.close()
        await bobClient.close()
        await a.stop()
        await b.stop()
    }

    @Test func resumeCapsTheReplay() async throws {
        let (a, _) = try await TestNode.pair { $0.live.resumeLimit = 5 }
        let alice = try await a.register()
        let bob = try await a.register()
        let conv = try await a.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        for index in 1...8 { _ = try await a.switchboard.conversations.send(conv, from: alice.id, text: "m\(index)", nonce: nil) }
        let client = try await LiveClient.authenticated(a, bob)
        let reply = try await client.command(["op": "resume", "positions": [conv: 0]])
        #expect(reply["complete"] as? Bool == false)
        #expect((reply["recovered"] as? [String: Any])?[conv] as? Int == 5)
        await client.close()
        await a.stop()
    }

    @Test func resumeWhileLiveTrafficFlowsHasNoGapAndNoDuplicate() async throws {
        let (a, b) = try await TestNode.pair { $0.limits.sendBurst = 10_000 }
        let alice = try await a.register()
        let bob = try await a.register()
        let conv = try await a.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        let conversations = a.switchboard.conversations
        for index in 1...20 { _ = try await conversations.send(conv, from: alice.id, text: "m\(index)", nonce: nil) }
        let flow = Task {
            for index in 21...300 {
                _ = try await conversations.send(conv, from: alice.id, text: "m\(index)", nonce: nil)
                if index % 10 == 0 { try await Task.sleep(nanoseconds: 2_000_000) }
            }
        }
        try await Task.sleep(nanoseconds: 30_000_000)
        // The client announces its resume (as the SDKs do): live events wait for its replay.
        let client = try await LiveClient.connect(b)
        #expect(try await client.command(["op": "auth", "token": bob.accessToken, "resume": true])["ok"] as? Bool == true)
        let reply = try await client.command(["op": "resume", "positions": [conv: 10]])
        #expect(reply["complete"] as? Bool == true)
        try await flow.value
        _ = try await client.waitFor { ($0["message"] as? [String: Any])?["seq"] as? Int == 300 }
        let seqs = client.messageSeqs(conv)
        #expect(seqs == Array(11...299), "got \(seqs.count) events, first \(seqs.prefix(3)), gaps or duplicates")
        await client.close()
        await a.stop()
        await b.stop()
    }

    @Test func membersAddedAndRemovedFollowLive() async throws {
        let (a, b) = try await TestNode.pair()
        let owner = try await a.register()
        let late = try await a.register()
        let conv = try await a.create(["kind": "group", "name": "Live", "members": []], as: owner)["id"] as! String
        let ownerClient = try await LiveClient.authenticated(a, owner)
        let lateClient = try await LiveClient.authenticated(b, late)
        _ = try await ownerClient.command(["op": "send", "conv": conv, "text": "before"])

        #expect(
            try await a.request("POST", "/api/v1/conversations/\(conv)/members", json: ["users": [late.id]], token: owner.accessToken).status == 200)
        let added = try await lateClient.event("conversation")
        #expect(added["change"] as? String == "added")
        #expect((added["conversation"] as? [String: Any])?["id"] as? String == conv)
        // Receives at once (allow the subscription a moment: poll sends).
        var got = false
        for index in 0..<50 where !got {
            _ = try await ownerClient.command(["op": "send", "conv": conv, "text": "after \(index)"])
            got = (try? await lateClient.event("message", timeout: 0.2)) != nil
        }
        #expect(got)
        let update = try await ownerClient.event("conversation")
        #expect(update["change"] as? String == "updated")

        #expect(try await a.request("DELETE", "/api/v1/conversations/\(conv)/members/\(late.id)", token: owner.accessToken).status == 204)
        let removed = try await lateClient.event("conversation") { $0["change"] as? String == "removed" }
        #expect((removed["conversation"] as? [String: Any])?["id"] as? String == conv)
        let countBefore = lateClient.received { $0["ev"] as? String == "message" }.count
        _ = try await ownerClient.command(["op": "send", "conv": conv, "text": "not for you"])
        _ = try await ownerClient.command(["op": "send", "conv": conv, "text": "nor this"])
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(lateClient.received { $0["ev"] as? String == "message" }.count == countBefore)
        let refused = try await lateClient.command(["op": "typing", "conv": conv, "active": true])
        #expect((refused["error"] as? [String: Any])?["code"] as? String == "not_member")
        await ownerClient.close()
        await lateClient.close()
        await a.stop()
        await b.stop()
    }

    @Test func tokenExpiryClosesUnlessRenewed() async throws {
        var configuration = TestNode.configuration()
        configuration.auth.accessTokenTTL = 2
        configuration.auth.leeway = 0
        let node = try await TestNode.start(configuration)
        let alice = try await node.register()
        let expiring = try await LiveClient.authenticated(node, alice)
        let renewing = try await LiveClient.authenticated(node, alice)
        try await Task.sleep(nanoseconds: 1_000_000_000)
        let refreshed = try await node.request("POST", "/api/v1/auth/refresh", json: ["refreshToken": alice.refreshToken])
        // The renewed token also lives 2 s: it outlives the first by one second.
        let token = refreshed.json["accessToken"] as! String
        #expect(try await renewing.command(["op": "auth", "token": token])["ok"] as? Bool == true)
        #expect(await expiring.waitForClose(timeout: 6) == 4009)
        #expect(!renewing.isClosed)
        #expect(await renewing.waitForClose(timeout: 6) == 4009)
        await node.stop()
    }

    @Test func sendRateLimitAnswersRateLimited() async throws {
        let node = try await TestNode.start(
            {
                var configuration = TestNode.configuration()
                configuration.limits.sendBurst = 5
                configuration.limits.sendRefillPerSecond = 0.5
                configuration.live.abuseCloseAfter = 10
                return configuration
            }())
        let alice = try await node.register()
        let bob = try await node.register()
        let conv = try await node.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        let client = try await LiveClient.authenticated(node, alice)
        var codes: [String] = []
        for index in 0..<8 {
            let reply = try await client.command(["op": "send", "conv": conv, "text": "m\(index)"])
            codes.append(reply["ok"] as? Bool == true ? "ok" : ((reply["error"] as? [String: Any])?["code"] as? String ?? "?"))
        }
        #expect(codes == Array(repeating: "ok", count: 5) + Array(repeating: "rate_limited", count: 3))
        // Persistent abuse closes the connection with 4029.
        for index in 0..<20 { try? await client.post(["op": "send", "conv": conv, "text": "flood \(index)"]) }
        #expect(await client.waitForClose() == 4029)
        await node.stop()
    }
}
