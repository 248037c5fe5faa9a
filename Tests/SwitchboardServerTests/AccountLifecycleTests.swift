import Foundation
import RedisClient
import SwitchboardCore
import Testing

extension TestNode {
    /// Logs in with a `User-Agent`, answering the token pair.
    func login(_ account: Account, password: String = "correct horse", agent: String) async throws -> Account {
        let result = try await request(
            "POST", "/api/v1/auth/login", json: ["username": account.username, "password": password], headers: ["User-Agent": agent])
        guard result.status == 200 else { throw TestSupportError("login: \(result.status) \(result.text)") }
        var session = account
        session.accessToken = result.json["accessToken"] as? String ?? ""
        session.refreshToken = result.json["refreshToken"] as? String ?? ""
        return session
    }
}

@Suite("Account lifecycle: password, sessions, deletion", .serialized)
struct AccountLifecycleTests {
    @Test func changingThePasswordEndsEveryOtherSession() async throws {
        let (a, b) = try await TestNode.pair()
        let registered = try await a.register()
        let laptop = try await a.login(registered, agent: "Laptop/1.0")
        let phone = try await b.login(registered, agent: "Phone/2.0")
        let phoneSocket = try await LiveClient.connect(b)

        let listed = try await b.request("GET", "/api/v1/auth/sessions", token: laptop.accessToken)
        let sessions = try #require(listed.json["sessions"] as? [[String: Any]])
        #expect(sessions.count == 3)
        #expect(Set(sessions.compactMap { $0["userAgent"] as? String }).isSuperset(of: ["Laptop/1.0", "Phone/2.0"]))
        #expect(sessions.filter { $0["current"] as? Bool == true }.map { $0["userAgent"] as? String } == ["Laptop/1.0"])

        let wrong = try await a.request(
            "POST", "/api/v1/auth/password", json: ["current": "nope nope", "new": "battery staple"], token: laptop.accessToken)
        #expect(wrong.status == 401)
        let changed = try await a.request(
            "POST", "/api/v1/auth/password", json: ["current": "correct horse", "new": "battery staple"], token: laptop.accessToken)
        #expect(changed.status == 204)
        for node in [a, b] {
            #expect(try await node.request("GET", "/api/v1/users/me", token: laptop.accessToken).status == 200)
            #expect(try await node.request("GET", "/api/v1/users/me", token: phone.accessToken).status == 401)
            #expect(try await node.request("GET", "/api/v1/users/me", token: registered.accessToken).status == 401)
        }
        #expect(try await b.request("POST", "/api/v1/auth/refresh", json: ["refreshToken": phone.refreshToken]).status == 401)
        let auth = try await phoneSocket.command(["op": "auth", "token": phone.accessToken])
        #expect(auth["ok"] as? Bool == false)
        #expect(await phoneSocket.waitForClose(timeout: 5) == 4001)
        #expect(
            try await a.request("POST", "/api/v1/auth/login", json: ["username": registered.username, "password": "correct horse"]).status == 401)
        _ = try await a.login(registered, password: "battery staple", agent: "Laptop/1.0")
        // The session that changed it keeps refreshing.
        #expect(try await b.request("POST", "/api/v1/auth/refresh", json: ["refreshToken": laptop.refreshToken]).status == 200)
        await a.stop()
        await b.stop()
    }

    @Test func aSessionCanBeEndedByItsUser() async throws {
        let node = try await TestNode.start()
        let registered = try await node.register()
        let other = try await node.login(registered, agent: "Tablet/3")
        let listed = try await node.request("GET", "/api/v1/auth/sessions", token: registered.accessToken)
        let tablet = try #require((listed.json["sessions"] as? [[String: Any]])?.first { $0["userAgent"] as? String == "Tablet/3" })
        let id = try #require(tablet["id"] as? String)
        #expect(tablet["created"] as? Int != nil)
        #expect(tablet["lastUsed"] as? Int != nil)
        #expect(try await node.request("DELETE", "/api/v1/auth/sessions/\(id)", token: registered.accessToken).status == 204)
        #expect(try await node.request("DELETE", "/api/v1/auth/sessions/\(id)", token: registered.accessToken).status == 404)
        #expect(try await node.request("POST", "/api/v1/auth/refresh", json: ["refreshToken": other.refreshToken]).status == 401)
        #expect(try await node.request("GET", "/api/v1/users/me", token: other.accessToken).status == 401)
        let after = try await node.request("GET", "/api/v1/auth/sessions", token: registered.accessToken)
        #expect((after.json["sessions"] as? [[String: Any]])?.count == 1)
        // Another user's session id is not found, not ended.
        let stranger = try await node.register()
        #expect(try await node.request("DELETE", "/api/v1/auth/sessions/\(id)x", token: stranger.accessToken).status == 404)
        await node.stop()
    }

    @Test func deletingAnAccountKeepsItsMessagesAndEmitsUserDeleted() async throws {
        let (a, b) = try await TestNode.pair()
        let alice = try await a.register()
        let bob = try await a.register()
        let conv = try await a.create(["kind": "group", "name": "Keep", "members": [alice.id]], as: bob)["id"] as! String
        #expect(try await a.send(conv, "from bob", as: bob).status == 201)
        let direct = try await a.create(["kind": "direct", "with": alice.id], as: bob)["id"] as! String
        let bobSocket = try await LiveClient.authenticated(b, bob)

        #expect(try await b.request("DELETE", "/api/v1/users/me", json: ["password": "wrong one"], token: bob.accessToken).status == 401)
        #expect(try await b.request("DELETE", "/api/v1/users/me", json: ["password": "correct horse"], token: bob.accessToken).status == 204)
        #expect(await bobSocket.waitForClose(timeout: 5) == 4003)
        #expect(try await a.request("GET", "/api/v1/users/\(bob.id)", token: alice.accessToken).status == 404)
        #expect(try await a.request("GET", "/api/v1/users/me", token: bob.accessToken).status == 401)
        #expect(try await a.request("POST", "/api/v1/auth/refresh", json: ["refreshToken": bob.refreshToken]).status == 401)
        // The group went to alice with bob's message, shown from his id.
        let history = try await a.request("GET", "/api/v1/conversations/\(conv)/messages", token: alice.accessToken)
        #expect((history.json["messages"] as? [[String: Any]])?.first?["from"] as? String == bob.id)
        let group = try await a.request("GET", "/api/v1/conversations/\(conv)", token: alice.accessToken)
        #expect(((group.json["conversation"] as? [String: Any])?["members"] as? [[String: Any]])?.map { $0["id"] as? String } == [alice.id])
        #expect(try await a.request("GET", "/api/v1/conversations/\(direct)", token: alice.accessToken).status == 200)
        for key in [a.keys.user(bob.id), a.keys.userConversations(bob.id), a.keys.sessions(bob.id), a.keys.username(bob.username.lowercased())] {
            #expect(try await a.redis.send("EXISTS", key).int == 0, "\(key)")
        }
        // The name is free again.
        _ = try await a.register(bob.username)
        if !TestEnvironment.redisCluster {  // no event stream on a cluster
            let types = try await a.events().compactMap { event -> String? in
                let type = event["type"] as? String ?? ""
                let data = event["data"] as? [String: Any] ?? [:]
                let user = (data["user"] as? String) ?? ((data["user"] as? [String: Any])?["id"] as? String)
                return user == bob.id ? type : nil
            }
            #expect(types.filter { $0 == "user.deleted" }.count == 1)
            #expect(types.filter { $0 == "member.removed" }.count == 2)
            #expect(types.last == "user.deleted" || types.last == "presence.offline")
        }
        await a.stop()
        await b.stop()
    }
}
