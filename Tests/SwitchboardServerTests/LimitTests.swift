import Foundation
import RedisClient
import SwitchboardCore
import Testing

/// Issue 12, item 1: every size limit counts UTF-8 bytes, on REST and WebSocket alike.
@Suite("Byte limits")
struct LimitTests {
    /// One character (a letter and `marks` combining acute accents) of 1 + 2 × marks bytes.
    static func grapheme(marks: Int) -> String { "e" + String(repeating: "\u{0301}", count: marks) }

    static func code(_ reply: [String: Any]) -> String? { (reply["error"] as? [String: Any])?["code"] as? String }

    @Test func oneHeavyCharacterIsTooLargeOverRESTAndWebSocket() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let id = try await node.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        // 64 characters, 256 KB: counted in characters it passed.
        let heavy = String(repeating: Self.grapheme(marks: 2000), count: 64)
        let rest = try await node.send(id, heavy, as: alice)
        #expect(rest.status == 413)
        #expect(rest.errorCode == "too_large")
        // Just over the byte limit (16 KiB) in a single character.
        let single = Self.grapheme(marks: 8200)
        #expect(try await node.send(id, single, as: alice).errorCode == "too_large")
        let sent = try await node.send(id, "fine", as: alice)
        let messageID = try #require((sent.json["message"] as? [String: Any])?["id"] as? String)
        let edit = try await node.request(
            "PATCH", "/api/v1/conversations/\(id)/messages/\(messageID)", json: ["text": single], token: alice.accessToken)
        #expect(edit.errorCode == "too_large")
        let nonce = try await node.request(
            "POST", "/api/v1/conversations/\(id)/messages", json: ["text": "hi", "nonce": String(repeating: "n", count: 129)],
            token: alice.accessToken)
        #expect(nonce.errorCode == "too_large")

        let live = try await LiveClient.authenticated(node, alice)
        #expect(Self.code(try await live.command(["op": "send", "conv": id, "text": single])) == "too_large")
        #expect(Self.code(try await live.command(["op": "edit", "conv": id, "msg": messageID, "text": single])) == "too_large")
        #expect(
            Self.code(try await live.command(["op": "send", "conv": id, "text": "hi", "nonce": String(repeating: "n", count: 129)])) == "too_large")
        // Within both limits: 4096 two-byte characters still go through.
        #expect((try await live.command(["op": "send", "conv": id, "text": String(repeating: "é", count: 4096)]))["ok"] as? Bool == true)
        let history = try await node.request("GET", "/api/v1/conversations/\(id)/messages", token: bob.accessToken)
        #expect((history.json["messages"] as? [[String: Any]])?.count == 2)
        await live.close()
        await node.stop()
    }

    @Test func profileAndConversationFieldsAreBoundedInBytes() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        // 80 KB display name of one character, 200 KB bio and avatar.
        for (field, value) in [
            ("displayName", Self.grapheme(marks: 40_000)), ("bio", Self.grapheme(marks: 100_000)),
            ("avatar", Self.grapheme(marks: 100_000)),
        ] {
            let result = try await node.request("PATCH", "/api/v1/users/me", json: [field: value], token: alice.accessToken)
            #expect(result.status == 413, "\(field)")
            #expect(result.errorCode == "too_large", "\(field)")
        }
        let me = try await node.request("GET", "/api/v1/users/me", token: alice.accessToken)
        #expect(((me.json["user"] as? [String: Any])?["bio"]) == nil)

        let room = try await node.request(
            "POST", "/api/v1/conversations", json: ["kind": "room", "name": Self.grapheme(marks: 40_000)], token: alice.accessToken)
        #expect(room.errorCode == "too_large")
        let group = try await node.request(
            "POST", "/api/v1/conversations", json: ["kind": "group", "name": Self.grapheme(marks: 300)], token: alice.accessToken)
        #expect(group.errorCode == "too_large")
        let id = try await node.create(["kind": "group", "name": "Fine"], as: alice)["id"] as! String
        let described = try await node.request(
            "PATCH", "/api/v1/conversations/\(id)", json: ["description": Self.grapheme(marks: 100_000)], token: alice.accessToken)
        #expect(described.errorCode == "too_large")
        let renamed = try await node.request(
            "PATCH", "/api/v1/conversations/\(id)", json: ["name": Self.grapheme(marks: 300)], token: alice.accessToken)
        #expect(renamed.errorCode == "too_large")
        #expect(try await node.request("PATCH", "/api/v1/conversations/\(id)", json: ["description": "ok"], token: alice.accessToken).status == 200)
        await node.stop()
    }

    @Test func usernamesAndPasswordsAreBoundedInBytes() async throws {
        let node = try await TestNode.start()
        let longName = try await node.request(
            "POST", "/api/v1/auth/register", json: ["username": String(repeating: "a", count: 600_000), "password": "long-enough-1"])
        #expect(longName.errorCode == "too_large")
        let longPassword = try await node.request(
            "POST", "/api/v1/auth/register", json: ["username": "u\(RandomID.make(length: 8))", "password": String(repeating: "p", count: 1025)])
        #expect(longPassword.errorCode == "too_large")
        await node.stop()
    }

    @Test func limitsAreConfigurable() async throws {
        var configuration = TestNode.configuration()
        configuration.limits.messageBytes = 10
        let node = try await TestNode.start(configuration)
        let alice = try await node.register()
        let bob = try await node.register()
        let id = try await node.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        #expect(try await node.send(id, "0123456789", as: alice).status == 201)
        #expect(try await node.send(id, "0123456789a", as: alice).errorCode == "too_large")
        #expect(try await node.send(id, "ééééé", as: alice).status == 201)
        #expect(try await node.send(id, "éééééé", as: alice).errorCode == "too_large")
        await node.stop()
    }
}
