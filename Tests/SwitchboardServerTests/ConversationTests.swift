import Foundation
import RedisClient
import SwitchboardCore
import Testing

extension TestNode {
    /// Creates a conversation and returns its JSON.
    func create(_ body: [String: Any], as account: Account) async throws -> [String: Any] {
        let result = try await request("POST", "/api/v1/conversations", json: body, token: account.accessToken)
        #expect(result.status == 201, "create \(body): \(result.text)")
        return result.json["conversation"] as? [String: Any] ?? [:]
    }

    func send(_ conv: String, _ text: String, as account: Account, nonce: String? = nil) async throws -> HTTPResult {
        var body: [String: Any] = ["text": text]
        if let nonce { body["nonce"] = nonce }
        return try await request("POST", "/api/v1/conversations/\(conv)/messages", json: body, token: account.accessToken)
    }

    func conversation(_ id: String, as account: Account) async throws -> HTTPResult {
        try await request("GET", "/api/v1/conversations/\(id)", token: account.accessToken)
    }
}

@Suite("Conversations, messages and unread counts over HTTP")
struct ConversationTests {
    @Test func directConversationIsCreatedOnceUnderConcurrency() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let results = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for index in 0..<10 {
                let (me, other) = index % 2 == 0 ? (alice, bob) : (bob, alice)
                group.addTask {
                    let result = try await node.request(
                        "POST", "/api/v1/conversations", json: ["kind": "direct", "with": other.id], token: me.accessToken)
                    return (result.status, (result.json["conversation"] as? [String: Any])?["id"] as? String ?? "")
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter { $0.0 == 201 }.count == 1)
        #expect(results.filter { $0.0 == 200 }.count == 9)
        #expect(Set(results.map(\.1)).count == 1)
        let id = results[0].1
        let members = try await node.redis.send("HGETALL", node.keys.members(id)).stringPairs ?? [:]
        #expect(Set(members.keys) == [alice.id, bob.id])
        let selfDirect = try await node.request(
            "POST", "/api/v1/conversations", json: ["kind": "direct", "with": alice.id], token: alice.accessToken)
        #expect(selfDirect.status == 400)
        let unknown = try await node.request(
            "POST", "/api/v1/conversations", json: ["kind": "direct", "with": "u_nobody"], token: alice.accessToken)
        #expect(unknown.status == 404)
        await node.stop()
    }

    @Test func groupRolesAndOwnerHandOver() async throws {
        let node = try await TestNode.start()
        let owner = try await node.register()
        let admin = try await node.register()
        let member = try await node.register()
        let late = try await node.register()
        let group = try await node.create(["kind": "group", "name": "Team", "members": [admin.id, member.id]], as: owner)
        let id = try #require(group["id"] as? String)
        #expect(group["kind"] as? String == "group")
        #expect(group["createdBy"] as? String == owner.id)
        #expect(group["seq"] as? Int == 0)
        let roles = Dictionary(
            uniqueKeysWithValues: (group["members"] as? [[String: Any]] ?? []).map { ($0["id"] as! String, $0["role"] as! String) })
        #expect(roles == [owner.id: "owner", admin.id: "member", member.id: "member"])

        // Only the owner changes roles.
        let denied = try await node.request(
            "PATCH", "/api/v1/conversations/\(id)/members/\(admin.id)", json: ["role": "admin"], token: member.accessToken)
        #expect(denied.status == 403)
        #expect(denied.errorCode == "forbidden")
        let promoted = try await node.request(
            "PATCH", "/api/v1/conversations/\(id)/members/\(admin.id)", json: ["role": "admin"], token: owner.accessToken)
        #expect(promoted.status == 200)

        // A plain member can neither add, rename nor delete; an admin can add and rename.
        #expect(
            try await node.request("POST", "/api/v1/conversations/\(id)/members", json: ["users": [late.id]], token: member.accessToken).status == 403
        )
        #expect(try await node.request("PATCH", "/api/v1/conversations/\(id)", json: ["name": "Mine"], token: member.accessToken).status == 403)
        #expect(try await node.request("DELETE", "/api/v1/conversations/\(id)", token: admin.accessToken).status == 403)
        let added = try await node.request("POST", "/api/v1/conversations/\(id)/members", json: ["users": [late.id]], token: admin.accessToken)
        #expect(added.status == 200)
        let renamed = try await node.request(
            "PATCH", "/api/v1/conversations/\(id)", json: ["name": "Core team", "description": "ships it"], token: admin.accessToken)
        #expect(renamed.status == 200)
        #expect((renamed.json["conversation"] as? [String: Any])?["name"] as? String == "Core team")
        #expect((renamed.json["conversation"] as? [String: Any])?["description"] as? String == "ships it")

        // A non-member sees 403 not_member; an unknown id 404.
        let outsider = try await node.register()
        #expect(try await node.conversation(id, as: outsider).errorCode == "not_member")
        #expect(try await node.conversation("c_doesnotexist", as: outsider).status == 404)

        // An admin removes a member; a member leaves by themself.
        #expect(try await node.request("DELETE", "/api/v1/conversations/\(id)/members/\(late.id)", token: admin.accessToken).status == 204)
        #expect(try await node.conversation(id, as: late).errorCode == "not_member")
        #expect(try await node.request("DELETE", "/api/v1/conversations/\(id)/members/\(member.id)", token: member.accessToken).status == 204)
        let lateList = try await node.request("GET", "/api/v1/conversations", token: late.accessToken)
        #expect((lateList.json["conversations"] as? [Any])?.isEmpty == true)

        // The owner leaves: the admin becomes owner.
        #expect(try await node.request("DELETE", "/api/v1/conversations/\(id)/members/\(owner.id)", token: owner.accessToken).status == 204)
        let after = try await node.conversation(id, as: admin)
        let afterRoles = (after.json["conversation"] as? [String: Any])?["members"] as? [[String: Any]] ?? []
        #expect(afterRoles.count == 1)
        #expect(afterRoles.first?["role"] as? String == "owner")

        // The last member leaves: the conversation and its keys are gone.
        _ = try await node.send(id, "last words", as: admin)
        #expect(try await node.request("DELETE", "/api/v1/conversations/\(id)/members/\(admin.id)", token: admin.accessToken).status == 204)
        #expect(try await node.conversation(id, as: admin).status == 404)
        let left = try await node.redis.send(
            "EXISTS", node.keys.conversation(id), node.keys.members(id), node.keys.messages(id), node.keys.readPointers(id))
        #expect(left.int == 0)
        await node.stop()
    }

    @Test func ownerDeletesConversation() async throws {
        let node = try await TestNode.start()
        let owner = try await node.register()
        let other = try await node.register()
        let id = try await node.create(["kind": "group", "name": "Gone soon", "members": [other.id]], as: owner)["id"] as! String
        #expect(try await node.request("DELETE", "/api/v1/conversations/\(id)", token: owner.accessToken).status == 204)
        #expect(try await node.conversation(id, as: other).status == 404)
        let list = try await node.request("GET", "/api/v1/conversations", token: other.accessToken)
        #expect((list.json["conversations"] as? [Any])?.isEmpty == true)
        await node.stop()
    }

    @Test func concurrentSendersGetGaplessSeq() async throws {
        let node = try await TestNode.start()
        let senders = try await withThrowingTaskGroup(of: TestNode.Account.self) { group in
            for _ in 0..<8 { group.addTask { try await node.register() } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let id = try await node.create(["kind": "group", "name": "Load", "members": senders.dropFirst().map(\.id)], as: senders[0])["id"] as! String
        let conversations = node.switchboard.conversations
        let seqs = try await withThrowingTaskGroup(of: [Int].self) { group in
            for sender in senders {
                group.addTask {
                    var seqs: [Int] = []
                    for index in 0..<200 {
                        seqs.append(try await conversations.send(id, from: sender.id, text: "m\(index)", nonce: nil).message.seq)
                    }
                    return seqs
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(seqs.sorted() == Array(1...1600))
        #expect(try await node.redis.send("XLEN", node.keys.messages(id)).int == 1600)
        let stream = try await node.redis.send("XRANGE", node.keys.messages(id), "-", "+").array ?? []
        let streamSeqs = stream.compactMap { $0.array?[1].stringPairs?["seq"].flatMap { Int($0) } }
        #expect(streamSeqs == Array(1...1600), "stream order is seq order")
        #expect(try await node.conversation(id, as: senders[1]).json["conversation"].flatMap { ($0 as? [String: Any])?["seq"] as? Int } == 1600)
        await node.stop()
    }

    @Test func nonceRetryIsStoredOnce() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let id = try await node.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        let first = try await node.send(id, "hello", as: alice, nonce: "n-1")
        #expect(first.status == 201)
        let retry = try await node.send(id, "hello", as: alice, nonce: "n-1")
        #expect(retry.status == 200)
        let firstMessage = first.json["message"] as? [String: Any]
        let retryMessage = retry.json["message"] as? [String: Any]
        #expect(firstMessage?["id"] as? String == retryMessage?["id"] as? String)
        #expect(firstMessage?["nonce"] as? String == "n-1")
        #expect(try await node.redis.send("XLEN", node.keys.messages(id)).int == 1)
        // The same nonce from another sender is another message.
        #expect(try await node.send(id, "hello", as: bob, nonce: "n-1").status == 201)
        #expect(try await node.redis.send("XLEN", node.keys.messages(id)).int == 2)
        await node.stop()
    }

    @Test func messageShapeAndTextRules() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let id = try await node.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        let sent = try await node.send(id, "hi / \"there\" ✓", as: alice)
        let message = try #require(sent.json["message"] as? [String: Any])
        #expect(message["conv"] as? String == id)
        #expect(message["seq"] as? Int == 1)
        #expect(message["from"] as? String == alice.id)
        #expect(message["kind"] as? String == "text")
        #expect(message["text"] as? String == "hi / \"there\" ✓")
        #expect(message["ts"] is Int)
        #expect((message["id"] as? String)?.contains("-") == true)
        #expect(try await node.send(id, "   ", as: alice).errorCode == "invalid_request")
        let long = try await node.send(id, String(repeating: "x", count: 4097), as: alice)
        #expect(long.status == 413)
        #expect(long.errorCode == "too_large")
        #expect(try await node.send(id, String(repeating: "é", count: 4096), as: alice).status == 201)
        let outsider = try await node.register()
        #expect(try await node.send(id, "let me in", as: outsider).errorCode == "not_member")
        await node.stop()
    }

    @Test func unreadCountsAndReadPointers() async throws {
        let node = try await TestNode.start()
        let a = try await node.register()
        let b = try await node.register()
        let c = try await node.register()
        let id = try await node.create(["kind": "group", "name": "Three", "members": [b.id, c.id]], as: a)["id"] as! String
        for index in 1...5 { _ = try await node.send(id, "a\(index)", as: a) }
        for index in 1...2 { _ = try await node.send(id, "b\(index)", as: b) }
        func unread(_ account: TestNode.Account) async throws -> Int? {
            (try await node.conversation(id, as: account).json["conversation"] as? [String: Any])?["unread"] as? Int
        }
        // Sending moves the sender's pointer to its message.
        #expect(try await unread(a) == 2)
        #expect(try await unread(b) == 0)
        #expect(try await unread(c) == 7)
        let read = try await node.request("POST", "/api/v1/conversations/\(id)/read", json: ["seq": 4], token: c.accessToken)
        #expect(read.status == 200)
        #expect(read.json["unread"] as? Int == 3)
        // Never backwards.
        let back = try await node.request("POST", "/api/v1/conversations/\(id)/read", json: ["seq": 1], token: c.accessToken)
        #expect(back.json["unread"] as? Int == 3)
        // Past the newest: clamped.
        let past = try await node.request("POST", "/api/v1/conversations/\(id)/read", json: ["seq": 99], token: c.accessToken)
        #expect(past.json["unread"] as? Int == 0)
        #expect(try await node.redis.send("HGET", node.keys.readPointers(id), c.id).int == 7)
        #expect(try await node.request("POST", "/api/v1/conversations/\(id)/read", json: ["seq": "x"], token: c.accessToken).status == 400)
        #expect(try await node.request("POST", "/api/v1/conversations/\(id)/read", json: ["seq": -1], token: c.accessToken).status == 400)

        // The list has unread and lastMessage, newest activity first; empty ones by creation.
        let quiet = try await node.create(["kind": "group", "name": "Quiet", "members": [c.id]], as: a)["id"] as! String
        _ = try await node.send(id, "newest", as: b)
        let list = try await node.request("GET", "/api/v1/conversations", token: c.accessToken)
        let items = list.json["conversations"] as? [[String: Any]] ?? []
        #expect(items.map { $0["id"] as? String } == [id, quiet])
        #expect(items.first?["unread"] as? Int == 1)
        #expect((items.first?["lastMessage"] as? [String: Any])?["text"] as? String == "newest")
        #expect(items.last?["unread"] as? Int == 0)
        #expect(items.last?["lastMessage"] == nil)
        await node.stop()
    }

    @Test func editDeleteRulesAndHistoryView() async throws {
        let node = try await TestNode.start()
        let owner = try await node.register()
        let author = try await node.register()
        let other = try await node.register()
        let id = try await node.create(["kind": "group", "name": "Edits", "members": [author.id, other.id]], as: owner)["id"] as! String
        let first = try await node.send(id, "original", as: author).json["message"] as! [String: Any]
        let second = try await node.send(id, "to delete", as: author).json["message"] as! [String: Any]
        let third = try await node.send(id, "mine", as: other).json["message"] as! [String: Any]
        let firstID = first["id"] as! String

        #expect(
            try await node.request("PATCH", "/api/v1/conversations/\(id)/messages/\(firstID)", json: ["text": "hijack"], token: other.accessToken)
                .status == 403)
        let edited = try await node.request(
            "PATCH", "/api/v1/conversations/\(id)/messages/\(firstID)", json: ["text": "fixed"], token: author.accessToken)
        #expect(edited.status == 200)
        #expect((edited.json["message"] as? [String: Any])?["editedAt"] is Int)
        // A member may not delete another's message; the owner (an admin) may.
        #expect(
            try await node.request("DELETE", "/api/v1/conversations/\(id)/messages/\(third["id"] as! String)", token: author.accessToken).status
                == 403)
        let deleted = try await node.request("DELETE", "/api/v1/conversations/\(id)/messages/\(second["id"] as! String)", token: owner.accessToken)
        #expect(deleted.status == 200)
        #expect((deleted.json["message"] as? [String: Any])?["deleted"] as? Bool == true)
        #expect(
            try await node.request(
                "PATCH", "/api/v1/conversations/\(id)/messages/\(second["id"] as! String)", json: ["text": "undo"], token: author.accessToken
            ).status == 404)
        #expect(try await node.request("DELETE", "/api/v1/conversations/\(id)/messages/1-999", token: owner.accessToken).status == 404)

        let history = try await node.request("GET", "/api/v1/conversations/\(id)/messages", token: other.accessToken)
        let messages = history.json["messages"] as? [[String: Any]] ?? []
        #expect(messages.map { $0["seq"] as? Int } == [1, 2, 3])
        #expect(messages[0]["text"] as? String == "fixed")
        #expect(messages[0]["editedAt"] is Int)
        #expect(messages[1]["text"] as? String == "")
        #expect(messages[1]["deleted"] as? Bool == true)
        #expect(messages[1]["id"] as? String == second["id"] as? String)
        #expect(messages[2]["deleted"] == nil)
        #expect(history.json["more"] as? Bool == false)
        await node.stop()
    }

    @Test func historyPagesWithCursors() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let id = try await node.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        var ids: [String] = []
        for index in 1...25 { ids.append((try await node.send(id, "m\(index)", as: alice).json["message"] as! [String: Any])["id"] as! String) }
        func page(_ query: String) async throws -> ([Int], Bool?) {
            let result = try await node.request("GET", "/api/v1/conversations/\(id)/messages?\(query)", token: bob.accessToken)
            return ((result.json["messages"] as? [[String: Any]] ?? []).compactMap { $0["seq"] as? Int }, result.json["more"] as? Bool)
        }
        let newest = try await page("limit=10")
        #expect(newest.0 == Array(16...25))
        #expect(newest.1 == true)
        let older = try await page("limit=10&before=\(ids[15])")
        #expect(older.0 == Array(6...15))
        #expect(older.1 == true)
        let oldest = try await page("limit=10&before=\(ids[5])")
        #expect(oldest.0 == Array(1...5))
        #expect(oldest.1 == false)
        let newer = try await page("limit=10&after=\(ids[19])")
        #expect(newer.0 == Array(21...25))
        #expect(newer.1 == false)
        let middle = try await page("limit=3&after=\(ids[0])")
        #expect(middle.0 == [2, 3, 4])
        #expect(middle.1 == true)
        #expect(try await node.request("GET", "/api/v1/conversations/\(id)/messages?before=nope", token: bob.accessToken).status == 400)
        await node.stop()
    }

    @Test func publicRoomsAreReadableJoinableAndListed() async throws {
        let node = try await TestNode.start()
        let owner = try await node.register()
        let visitor = try await node.register()
        let stem = "Lobby\(RandomID.make(length: 5))"
        let room = try await node.create(["kind": "room", "name": stem + " Main", "public": true], as: owner)
        let id = try #require(room["id"] as? String)
        #expect(room["public"] as? Bool == true)
        _ = try await node.create(["kind": "room", "name": stem + " Hidden", "public": false], as: owner)
        _ = try await node.send(id, "welcome", as: owner)

        let found = try await node.request("GET", "/api/v1/rooms?q=\(stem.lowercased())", token: visitor.accessToken)
        #expect((found.json["rooms"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [id])
        // A prefix that stops before a non-ASCII letter still matches.
        let cafe = try await node.create(["kind": "room", "name": stem + "Café Lounge", "public": true], as: owner)["id"] as! String
        let partial = try await node.request("GET", "/api/v1/rooms?q=\(stem.lowercased())caf", token: visitor.accessToken)
        #expect((partial.json["rooms"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [cafe])
        // Readable by a non-member, not sendable.
        let history = try await node.request("GET", "/api/v1/conversations/\(id)/messages", token: visitor.accessToken)
        #expect(history.status == 200)
        #expect((history.json["messages"] as? [[String: Any]])?.first?["text"] as? String == "welcome")
        #expect(try await node.send(id, "hi", as: visitor).errorCode == "not_member")
        // Joining themself, then sending works.
        #expect(
            try await node.request("POST", "/api/v1/conversations/\(id)/members", json: ["users": [visitor.id]], token: visitor.accessToken).status
                == 200)
        #expect(try await node.send(id, "hi", as: visitor).status == 201)
        // Nobody joins a private group by themself: the reason is not being a member (issue 12).
        let group = try await node.create(["kind": "group", "name": "Private", "members": []], as: owner)["id"] as! String
        #expect(
            try await node.request("POST", "/api/v1/conversations/\(group)/members", json: ["users": [visitor.id]], token: visitor.accessToken)
                .errorCode == "not_member")
        #expect(try await node.request("GET", "/api/v1/conversations/\(group)/messages", token: visitor.accessToken).errorCode == "not_member")
        await node.stop()
    }

    @Test func retentionTrimsTheStream() async throws {
        var configuration = TestNode.configuration()
        configuration.retention = 10
        let node = try await TestNode.start(configuration)
        let alice = try await node.register()
        let bob = try await node.register()
        let id = try await node.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        for index in 0..<350 { _ = try await node.switchboard.conversations.send(id, from: alice.id, text: "m\(index)", nonce: nil) }
        let length = try await node.redis.send("XLEN", node.keys.messages(id)).int ?? 0
        // MAXLEN ~ trims whole stream nodes (100 entries each by default).
        #expect(length >= 10 && length <= 200, "stream length \(length)")
        #expect(try await node.conversation(id, as: bob).json["conversation"].flatMap { ($0 as? [String: Any])?["seq"] as? Int } == 350)
        await node.stop()
    }

    @Test func scriptsAnswerCleanErrorsForBadInput() async throws {
        let node = try await TestNode.start()
        let scripts = node.switchboard.scripts
        let keys = node.keys
        let conv = "c_missing"
        let sendKeys = [
            keys.conversation(conv), keys.members(conv), keys.messages(conv), keys.readPointers(conv), keys.nonce(conv, user: "u", nonce: ""),
        ]
        let cases: [(String, [String], [any RedisArgumentConvertible])] = [
            ("send", sendKeys, [conv, "u_1", "hi", 1, "", 0, "", ""]),
            ("send", sendKeys, [conv, "u_1", "hi", "not-a-number", "", 0, "", ""]),
            ("send", Array(sendKeys.prefix(2)), [conv]),
            ("read", [keys.conversation(conv), keys.members(conv), keys.readPointers(conv)], [conv, "u_1", "-5", ""]),
            ("rate_limit", [keys.rateLimit("x")], ["abc", "1", "0"]),
            ("set_role", [keys.conversation(conv), keys.members(conv)], [conv, "u_1", "u_2", "emperor"]),
        ]
        for (name, scriptKeys, arguments) in cases {
            await #expect {
                try await scripts.evaluate(name, keys: scriptKeys, arguments: arguments)
            } throws: { error in
                guard let error = error as? RedisError, let prefix = error.serverErrorPrefix else { return false }
                return ["NOT_FOUND", "NOT_MEMBER", "FORBIDDEN", "INVALID", "CONFLICT"].contains(String(prefix))
                    && !error.message.contains("user_script")
            }
        }
        await node.stop()
    }
}
