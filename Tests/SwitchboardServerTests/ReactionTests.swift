import Foundation
import RedisClient
import SwitchboardCore
import Testing

extension TestNode {
    /// `PUT` (on) or `DELETE` a reaction over REST, the emoji percent-encoded.
    func react(_ conv: String, _ message: String, _ emoji: String, on: Bool = true, as account: Account) async throws -> HTTPResult {
        let encoded = emoji.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? emoji
        return try await request(
            on ? "PUT" : "DELETE", "/api/v1/conversations/\(conv)/messages/\(message)/reactions/\(encoded)", token: account.accessToken)
    }

    // (`history(_:as:)` is in RichMessageTests.swift.)
}

@Suite("Reactions", .serialized)
struct ReactionTests {
    @Test func reactionsAcrossTwoNodesOnePerUserAndEmojiInHistory() async throws {
        let (a, b) = try await TestNode.pair { $0.limits.reactionsPerMessage = 3 }
        let alice = try await a.register()
        let bob = try await a.register()
        let carol = try await b.register()
        let dave = try await b.register()
        let group = try await a.create(["kind": "group", "name": "Reacts", "members": [bob.id, carol.id]], as: alice)["id"] as! String
        let aliceLive = try await LiveClient.authenticated(a, alice)
        let bobLive = try await LiveClient.authenticated(b, bob)
        let sent = try await aliceLive.command(["op": "send", "conv": group, "text": "react to me"])
        let message = try #require((sent["message"] as? [String: Any])?["id"] as? String)
        _ = try await bobLive.event("message")

        // WebSocket on node b: the reply has the count, alice on node a gets the event.
        let reply = try await bobLive.command(["op": "react", "conv": group, "msg": message, "emoji": "👍", "on": true])
        #expect(reply["count"] as? Int == 1, "\(reply)")
        let event = try await aliceLive.event("reaction")
        #expect(event["conv"] as? String == group)
        #expect(event["id"] as? String == message)
        #expect(event["emoji"] as? String == "👍")
        #expect(event["user"] as? String == bob.id)
        #expect(event["on"] as? Bool == true)
        #expect(event["count"] as? Int == 1)
        #expect(event["origin"] == nil)
        // The message id as the command's own `id`, as the issue spells the op.
        try await bobLive.send(["op": "react", "conv": group, "emoji": "👍", "on": true, "id": message])
        let byID = try await bobLive.waitFor { $0["re"] as? String == message }
        #expect(byID["count"] as? Int == 1, "\(byID)")  // already there: nothing changed

        // REST on node b; one reaction per user and emoji.
        #expect(try await b.react(group, message, "👍", as: carol).json["count"] as? Int == 2)
        #expect(try await b.react(group, message, "👍", as: carol).json["count"] as? Int == 2)
        #expect((try await bobLive.event("reaction"))["user"] as? String == carol.id)
        #expect(try await a.react(group, message, "❤️", as: alice).json["count"] as? Int == 1)
        #expect(try await a.react(group, message, "🇫🇷", as: alice).json["count"] as? Int == 1)
        // A fourth different emoji is over this node's limit of 3; a known one still counts.
        let over = try await a.react(group, message, "🎉", as: alice)
        #expect(over.status == 409 && over.errorCode == "conflict", "\(over.text)")
        #expect(try await a.react(group, message, "❤️", as: bob).json["count"] as? Int == 2)

        // Not an emoji, two emoji, plain text: 400. Not a member: 403. Unknown message: 404.
        for bad in ["a", "1", "👍👍", ":+1:", "hello"] {
            let refused = try await a.react(group, message, bad, as: alice)
            #expect(refused.status == 400, "\(bad): \(refused.status) \(refused.text)")
        }
        #expect(try await b.react(group, message, "👍", as: dave).errorCode == "not_member")
        let daveReads = try await b.request(
            "GET", "/api/v1/conversations/\(group)/messages/\(message)/reactions/%F0%9F%91%8D", token: dave.accessToken)
        #expect(daveReads.errorCode == "not_member")
        #expect(try await a.react(group, "1-1", "👍", as: alice).status == 404)

        // History on either node: the counts.
        for node in [a, b] {
            let shown = try await node.history(group, as: carol).first { $0["id"] as? String == message }
            #expect(shown?["reactions"] as? [String: Int] == ["👍": 2, "❤️": 2, "🇫🇷": 1], "\(String(describing: shown))")
        }
        // Who: paged, every user once.
        let path = "/api/v1/conversations/\(group)/messages/\(message)/reactions/%F0%9F%91%8D"
        let first = try await a.request("GET", path + "?limit=1", token: alice.accessToken).json
        let firstUsers = first["users"] as? [String] ?? []
        #expect(firstUsers.count == 1)
        let next = try #require(first["next"] as? String)
        let second = try await a.request("GET", path + "?limit=1&after=\(next)", token: alice.accessToken).json
        #expect(Set(firstUsers + (second["users"] as? [String] ?? [])) == [bob.id, carol.id])
        #expect(second["next"] == nil)

        // Removing: the count goes down, the emoji goes away at 0.
        #expect(try await b.react(group, message, "🇫🇷", on: false, as: alice).json["count"] as? Int == 0)
        let removed = try await bobLive.event("reaction") { $0["emoji"] as? String == "🇫🇷" && $0["on"] as? Bool == false }
        #expect(removed["count"] as? Int == 0)
        let after = try await b.history(group, as: bob).first { $0["id"] as? String == message }
        #expect((after?["reactions"] as? [String: Int])?["🇫🇷"] == nil)

        // A deleted message takes none.
        _ = try await a.request("DELETE", "/api/v1/conversations/\(group)/messages/\(message)", token: alice.accessToken)
        #expect(try await a.react(group, message, "👍", as: bob).status == 404)
        await aliceLive.close()
        await bobLive.close()
        await a.stop()
        await b.stop()
    }

    @Test func reactionsShareOneBudgetAcrossTransports() async throws {
        var configuration = TestNode.configuration()
        configuration.limits.reactionsPerMinute = 3
        let node = try await TestNode.start(configuration)
        let alice = try await node.register()
        let bob = try await node.register()
        let conv = try await node.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        let message = try await node.send(conv, "hi", as: alice).json["message"] as? [String: Any]
        let id = try #require(message?["id"] as? String)
        let live = try await LiveClient.authenticated(node, bob)
        #expect(try await node.react(conv, id, "👍", as: bob).status == 200)
        #expect(try await node.react(conv, id, "👍", on: false, as: bob).status == 200)
        #expect(try await live.command(["op": "react", "conv": conv, "msg": id, "emoji": "😂", "on": true])["ok"] as? Bool == true)
        let refused = try await live.command(["op": "react", "conv": conv, "msg": id, "emoji": "😂", "on": false])
        #expect((refused["error"] as? [String: Any])?["code"] as? String == "rate_limited", "\(refused)")
        let rest = try await node.react(conv, id, "👍", as: bob)
        #expect(rest.status == 429)
        #expect(rest.headers["retry-after"] != nil)
        await live.close()
        await node.stop()
    }

    @Test func resumeAfterReactionsAndPinsWhileAway() async throws {
        let (a, b) = try await TestNode.pair()
        let alice = try await a.register()
        let bob = try await b.register()
        let group = try await a.create(["kind": "group", "name": "Away", "members": [bob.id]], as: alice)["id"] as! String
        let first = try await a.send(group, "before", as: alice).json["message"] as? [String: Any]
        let firstID = try #require(first?["id"] as? String)

        // While bob is away: a new message gets a reaction and a pin; the old one a reaction.
        let second = try await a.send(group, "while away", as: alice).json["message"] as? [String: Any]
        let secondID = try #require(second?["id"] as? String)
        #expect(try await a.react(group, secondID, "🎉", as: alice).status == 200)
        #expect(try await a.request("PUT", "/api/v1/conversations/\(group)/pins/\(secondID)", token: alice.accessToken).status == 204)
        #expect(try await a.react(group, firstID, "👍", as: alice).status == 200)

        // Bob resumes on the other node from seq 1: the replayed message shows its current state.
        let live = try await LiveClient.authenticated(b, bob)
        let reply = try await live.command(["op": "resume", "positions": [group: 1]])
        #expect((reply["recovered"] as? [String: Int])?[group] == 1, "\(reply)")
        let replayed = try #require(live.received { $0["ev"] as? String == "message" }.first?["message"] as? [String: Any])
        #expect(replayed["id"] as? String == secondID)
        #expect(replayed["reactions"] as? [String: Int] == ["🎉": 1])
        #expect(replayed["pinned"] as? Bool == true)
        // The reaction on the message he already held is in history and pins list the pin.
        let history = try await b.history(group, as: bob)
        #expect(history.first { $0["id"] as? String == firstID }?["reactions"] as? [String: Int] == ["👍": 1])
        #expect(history.first { $0["id"] as? String == firstID }?["pinned"] == nil)
        let pins = try await b.request("GET", "/api/v1/conversations/\(group)/pins", token: bob.accessToken).json["pins"] as? [[String: Any]]
        #expect(pins?.map { $0["id"] as? String } == [secondID])
        await live.close()
        await a.stop()
        await b.stop()
    }

    @Test func emojiValidation() {
        for good in ["👍", "👍🏽", "❤️", "🇫🇷", "👨‍👩‍👧", "1️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "✅"] {
            #expect(ConversationService.isEmoji(good), "\(good)")
        }
        for bad in ["", "a", "1", "#", "©", "👍👍", "👍 ", " ", "ab", String(repeating: "👍", count: 20), "\u{200D}"] {
            #expect(!ConversationService.isEmoji(bad), "\(bad)")
        }
    }
}
