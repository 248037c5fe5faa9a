import Foundation
import SwitchboardCore
import Testing

private let serverKeys = ["server-key-one-0123456789", "server-key-two-0123456789"]

extension TestNode {
    /// A server API call with the first configured key (or `key`).
    func server(_ method: String, _ path: String, json: Any? = nil, key: String? = serverKeys[0]) async throws -> HTTPResult {
        try await request(method, "/api/v1/server/" + path, json: json, token: key)
    }

    /// A user created through the server API, with tokens from it.
    func serverUser(_ name: String? = nil) async throws -> Account {
        let username = name ?? "s\(RandomID.make(length: 10))"
        let created = try await server("POST", "users", json: ["username": username, "displayName": "Server \(username)"])
        guard created.status == 201, let id = (created.json["user"] as? [String: Any])?["id"] as? String else {
            throw TestSupportError("server user: \(created.status) \(created.text)")
        }
        let tokens = try await server("POST", "users/\(id)/tokens")
        guard tokens.status == 200 else { throw TestSupportError("server tokens: \(tokens.status) \(tokens.text)") }
        return Account(
            id: id, username: username, accessToken: tokens.json["accessToken"] as? String ?? "",
            refreshToken: tokens.json["refreshToken"] as? String ?? "")
    }
}

@Suite("Server API (/api/v1/server)", .serialized)
struct ServerAPITests {
    static func pair() async throws -> (TestNode, TestNode) {
        try await TestNode.pair { $0.auth.serverAPIKeys = serverKeys }
    }

    @Test func keysAreRequiredAndUserTokensNeverAccepted() async throws {
        let (a, b) = try await Self.pair()
        let user = try await a.register()
        for (key, label) in [(nil, "no key"), ("server-key-one-012345678X", "wrong key"), (user.accessToken, "user token"), ("", "empty")] {
            let result = try await a.server("GET", "stats", key: key)
            #expect(result.status == 401, "\(label)")
            #expect(result.errorCode == "unauthorized", "\(label)")
            #expect(try await b.server("POST", "users", json: ["username": "nobody1"], key: key).status == 401, "\(label)")
        }
        #expect(try await a.server("GET", "stats", key: serverKeys[1]).status == 200)
        // A node without keys refuses everything.
        let plain = try await TestNode.start()
        #expect(try await plain.server("GET", "stats").status == 401)
        await plain.stop()
        await a.stop()
        await b.stop()
    }

    @Test func usersTokensConversationsAndSystemMessagesReachMembersLive() async throws {
        let (a, b) = try await Self.pair()
        let alice = try await a.serverUser()
        let bob = try await b.serverUser()
        let carol = try await a.serverUser()
        // The tokens work like login tokens, on any node.
        let me = try await b.request("GET", "/api/v1/users/me", token: alice.accessToken)
        #expect(me.status == 200)
        #expect((me.json["user"] as? [String: Any])?["displayName"] as? String == "Server \(alice.username)")
        #expect(try await a.server("POST", "users", json: ["username": alice.username]).errorCode == "username_taken")
        // No password: logging in is the app's own business (any password is wrong; an empty one is not a password).
        #expect(
            try await a.request("POST", "/api/v1/auth/login", json: ["username": alice.username, "password": "any password at all"]).status
                == 401)
        #expect(try await a.request("POST", "/api/v1/auth/login", json: ["username": alice.username, "password": ""]).status == 400)

        let created = try await a.server("POST", "conversations", json: ["kind": "group", "name": "Ops", "members": [alice.id, bob.id]])
        #expect(created.status == 201)
        let conversation = try #require(created.json["conversation"] as? [String: Any])
        let conv = try #require(conversation["id"] as? String)
        let roles = (conversation["members"] as? [[String: Any]])?.map { "\($0["id"]!):\($0["role"]!)" } ?? []
        #expect(Set(roles) == ["\(alice.id):owner", "\(bob.id):member"])
        let aliceLive = try await LiveClient.authenticated(a, alice)
        let bobLive = try await LiveClient.authenticated(b, bob)
        let carolLive = try await LiveClient.authenticated(b, carol)

        let added = try await b.server("POST", "conversations/\(conv)/members", json: ["users": [carol.id]])
        #expect(added.status == 200)
        _ = try await carolLive.event("conversation") { $0["change"] as? String == "added" }

        let system = try await a.server("POST", "conversations/\(conv)/messages", json: ["text": "maintenance at 5"])
        #expect(system.status == 201)
        let message = try #require(system.json["message"] as? [String: Any])
        #expect(message["from"] as? String == "system")
        #expect(message["kind"] as? String == "system")
        for client in [aliceLive, bobLive, carolLive] {
            let event = try await client.event("message")
            #expect((event["message"] as? [String: Any])?["text"] as? String == "maintenance at 5")
            #expect((event["message"] as? [String: Any])?["from"] as? String == "system")
        }
        let history = try await b.request("GET", "/api/v1/conversations/\(conv)/messages", token: carol.accessToken)
        #expect((history.json["messages"] as? [[String: Any]])?.last?["kind"] as? String == "system")

        let asBob = try await b.server("POST", "conversations/\(conv)/messages", json: ["text": "on behalf", "from": bob.id])
        #expect(asBob.status == 201)
        #expect((asBob.json["message"] as? [String: Any])?["from"] as? String == bob.id)
        let outsider = try await a.serverUser()
        #expect(try await a.server("POST", "conversations/\(conv)/messages", json: ["text": "x", "from": outsider.id]).status == 403)
        _ = try await aliceLive.event("message") { ($0["message"] as? [String: Any])?["text"] as? String == "on behalf" }

        #expect(try await a.server("DELETE", "conversations/\(conv)/members/\(alice.id)").status == 204)
        _ = try await aliceLive.event("conversation") { $0["change"] as? String == "removed" }
        let after = try await a.request("GET", "/api/v1/conversations/\(conv)", token: bob.accessToken)
        #expect((after.json["conversation"] as? [String: Any]).flatMap { ($0["members"] as? [[String: Any]])?.first?["role"] as? String } == "owner")
        #expect(try await a.server("POST", "conversations/nope/messages", json: ["text": "x"]).status == 404)

        let direct = try await a.server("POST", "conversations", json: ["kind": "direct", "members": [bob.id, carol.id]])
        #expect(direct.status == 201)
        #expect(try await b.server("POST", "conversations", json: ["kind": "direct", "members": [carol.id, bob.id]]).status == 200)

        let stats = try await a.server("GET", "stats")
        #expect(stats.status == 200)
        #expect((stats.json["nodes"] as? [[String: Any]])?.count == 2)
        #expect(stats.json["usersOnline"] as? Int == 3)
        #expect(stats.json["conversations"] as? Int == 2)
        for client in [aliceLive, bobLive, carolLive] { await client.close() }
        await a.stop()
        await b.stop()
    }

    @Test func disconnectClosesEverySocketOfTheUserOnEveryNode() async throws {
        let (a, b) = try await Self.pair()
        let alice = try await a.serverUser()
        let bob = try await a.serverUser()
        let onA = try await LiveClient.authenticated(a, alice)
        let onB = try await LiveClient.authenticated(b, alice)
        let bystander = try await LiveClient.authenticated(b, bob)
        #expect(try await b.server("POST", "users/\(alice.id)/disconnect").status == 204)
        #expect(await onA.waitForClose(timeout: 5) == 4003)
        #expect(await onB.waitForClose(timeout: 5) == 4003)
        #expect(try await bystander.command(["op": "ping"])["ok"] as? Bool == true)
        #expect(try await a.server("POST", "users/u_nobody/disconnect").status == 404)
        await bystander.close()
        await a.stop()
        await b.stop()
    }

    @Test func aBannedUserIsRefusedOnBothNodesUntilUnbanned() async throws {
        let (a, b) = try await Self.pair()
        let alice = try await a.register()
        let live = try await LiveClient.authenticated(b, alice)
        let ban = try await a.server("PUT", "users/\(alice.id)/ban", json: ["reason": "spam"])
        #expect(ban.status == 204)
        #expect(await live.waitForClose(timeout: 5) == 4003)
        for node in [a, b] {
            let me = try await node.request("GET", "/api/v1/users/me", token: alice.accessToken)
            #expect(me.status == 403)
            #expect(me.errorCode == "banned")
            let refresh = try await node.request("POST", "/api/v1/auth/refresh", json: ["refreshToken": alice.refreshToken])
            #expect(refresh.errorCode == "banned")
            let login = try await node.request("POST", "/api/v1/auth/login", json: ["username": alice.username, "password": "correct horse"])
            #expect(login.errorCode == "banned")
            let socket = try await LiveClient.connect(node)
            let auth = try await socket.command(["op": "auth", "token": alice.accessToken])
            #expect((auth["error"] as? [String: Any])?["code"] as? String == "banned")
            #expect(await socket.waitForClose(timeout: 5) == 4003)
        }
        #expect(try await a.server("POST", "users/\(alice.id)/tokens").errorCode == "banned")

        #expect(try await b.server("DELETE", "users/\(alice.id)/ban").status == 204)
        #expect(try await a.request("GET", "/api/v1/users/me", token: alice.accessToken).status == 200)
        // The refresh token was refused, not used up: it works again.
        #expect(try await b.request("POST", "/api/v1/auth/refresh", json: ["refreshToken": alice.refreshToken]).status == 200)
        let again = try await LiveClient.authenticated(a, alice)
        await again.close()

        // A ban with an end runs out by itself.
        let soon = Int(Date().timeIntervalSince1970 * 1000) + 1500
        #expect(try await a.server("PUT", "users/\(alice.id)/ban", json: ["until": soon]).status == 204)
        #expect(try await a.request("GET", "/api/v1/users/me", token: alice.accessToken).errorCode == "banned")
        var restored = false
        for _ in 0..<100 where !restored {
            try await Task.sleep(nanoseconds: 50_000_000)
            restored = try await b.request("GET", "/api/v1/users/me", token: alice.accessToken).status == 200
        }
        #expect(restored)
        if !TestEnvironment.redisCluster {  // no event stream on a cluster
            let types = try await a.events().compactMap { $0["type"] as? String }.filter { $0.hasPrefix("user.") }
            #expect(types == ["user.created", "user.banned", "user.unbanned", "user.banned"])
        }
        await a.stop()
        await b.stop()
    }
}
