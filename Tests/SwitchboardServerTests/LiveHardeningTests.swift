import Foundation
import NIOCore
import RedisClient
import SwitchboardClient
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import SwitchboardServer

/// Issue 12, the live side: bounds, timeouts, origins and caps a public
/// WebSocket endpoint needs, each against a real node.
@Suite("Live hardening", .serialized)
struct LiveHardeningTests {
    // MARK: Item 2: control frames and the outbound bound

    @Test func aPingFloodWithoutReadingStaysWithinTheOutboundBound() async throws {
        let node = try await TestNode.start()
        defer { Task { await node.stop() } }
        let raw = try await RawConnection.connect(node, reading: false)
        try await raw.send(RawConnection.upgradeRequest(port: node.port))
        // 64 MiB of masked pings (125-byte payloads, zero mask), never reading a pong.
        let payload = [UInt8](repeating: 0x61, count: 125)
        var chunk = ByteBuffer()
        for _ in 0..<8192 { chunk.writeBytes([0x89, 0x80 | 125, 0, 0, 0, 0] + payload) }
        for _ in 0..<(64 * 1024 * 1024 / chunk.readableBytes) { raw.write(chunk) }
        // Sample what the node holds for this connection while the flood lasts.
        let bound = node.switchboard.configuration.live.outboundMaxBytes + 128 * 1024
        var most = 0
        for _ in 0..<150 {
            most = max(most, await node.node.live.hub.maxBufferedBytes())
            if !raw.channel.isActive { break }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        #expect(most <= bound, "the node buffered \(most) bytes for one connection (bound \(bound))")
        await raw.close()
    }

    // MARK: Item 7: slowloris

    static func timeouts() -> SwitchboardConfiguration {
        var configuration = TestNode.configuration()
        configuration.httpHeaderTimeout = 1
        configuration.httpIdleTimeout = 1
        configuration.live.authTimeout = 1
        return configuration
    }

    @Test func aHalfSentRequestIsClosed() async throws {
        let node = try await TestNode.start(Self.timeouts())
        defer { Task { await node.stop() } }
        let raw = try await RawConnection.connect(node)
        try await raw.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        #expect(await raw.waitForClose(timeout: 10))
    }

    @Test func aConnectionThatSendsNothingIsClosed() async throws {
        let node = try await TestNode.start(Self.timeouts())
        defer { Task { await node.stop() } }
        let raw = try await RawConnection.connect(node)
        #expect(await raw.waitForClose(timeout: 10))
    }

    @Test func anIdleKeptAliveConnectionIsClosed() async throws {
        let node = try await TestNode.start(Self.timeouts())
        defer { Task { await node.stop() } }
        let raw = try await RawConnection.connect(node)
        try await raw.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(await raw.responseStatusLine() == "HTTP/1.1 200 OK")
        #expect(await raw.waitForClose(timeout: 10))
    }

    @Test func anUpgradedSocketThatSendsNothingIsClosedWith4001() async throws {
        let node = try await TestNode.start(Self.timeouts())
        defer { Task { await node.stop() } }
        let client = try await LiveClient.connect(node)
        #expect(await client.waitForClose(timeout: 10) == 4001)
    }

    // MARK: Item 12: origins

    @Test func anUpgradeFromAnotherOriginIsRefusedWith403() async throws {
        var configuration = TestNode.configuration()
        configuration.allowedOrigins = ["https://app.example"]
        let node = try await TestNode.start(configuration)
        defer { Task { await node.stop() } }
        let cases: [(String?, String)] = [
            ("https://evil.example", "HTTP/1.1 403 Forbidden"),
            ("http://127.0.0.1:\(node.port)", "HTTP/1.1 101 Switching Protocols"),
            ("https://app.example", "HTTP/1.1 101 Switching Protocols"),
            ("null", "HTTP/1.1 403 Forbidden"),
            (nil, "HTTP/1.1 101 Switching Protocols"),
        ]
        for (origin, expected) in cases {
            let raw = try await RawConnection.connect(node)
            try await raw.send(RawConnection.upgradeRequest(port: node.port, origin: origin))
            #expect(await raw.responseStatusLine() == expected, "origin \(origin ?? "none")")
            await raw.close()
        }
    }

    // MARK: Bug: the first second after connect

    @Test func theFirstMessageArrivesWithoutACommand() async throws {
        var configuration = TestNode.configuration()
        // A hold on every connection would keep the message back for longer than the wait below.
        configuration.live.resumeHoldTime = 60
        let node = try await TestNode.start(configuration)
        defer { Task { await node.stop() } }
        let alice = try await node.register()
        let bob = try await node.register()
        let conv = try await node.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        let bobClient = try await LiveClient.connect(node, token: bob.accessToken)
        let aliceClient = try await LiveClient.connect(node, token: alice.accessToken)
        // Bob sends no command at all; the header token authenticates him.
        _ = try await aliceClient.command(["op": "send", "conv": conv, "text": "right away"])
        let event = try await bobClient.event("message", timeout: 10)
        #expect((event["message"] as? [String: Any])?["text"] as? String == "right away")
        // With `resume=1` announced, live events still wait for the resume (its replay first, no duplicate).
        let resuming = LiveClient(
            try await WebSocketConnectionFactory.connect(port: node.port, path: "/ws?resume=1", token: bob.accessToken))
        _ = try await aliceClient.command(["op": "send", "conv": conv, "text": "second"])
        let reply = try await resuming.command(["op": "resume", "positions": [conv: 0]])
        #expect(reply["ok"] as? Bool == true)
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(resuming.messageSeqs(conv) == [1, 2])
        await bobClient.close()
        await aliceClient.close()
        await resuming.close()
    }

    // MARK: Item 4: throttles

    @Test func broadcastsAreThrottledPerUserAcrossTransports() async throws {
        var configuration = TestNode.configuration()
        configuration.limits.typingPerMinute = 5
        configuration.limits.statusPerMinute = 2
        configuration.limits.editsPerMinute = 3
        configuration.limits.conversationsPerMinute = 2
        configuration.limits.membershipChangesPerMinute = 2
        let node = try await TestNode.start(configuration)
        defer { Task { await node.stop() } }
        let alice = try await node.register()
        let bob = try await node.register()
        let carol = try await node.register()
        let conv = try await node.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        let aliceClient = try await LiveClient.authenticated(node, alice)
        let bobClient = try await LiveClient.authenticated(node, bob)

        // Typing, `active: false` included: 5 go out, the 6th is refused.
        for index in 0..<5 {
            let reply = try await aliceClient.command(["op": "typing", "conv": conv, "active": index % 2 == 0])
            #expect(reply["ok"] as? Bool == true)
        }
        let refused = try await aliceClient.command(["op": "typing", "conv": conv, "active": false])
        #expect((refused["error"] as? [String: Any])?["code"] as? String == "rate_limited")
        for _ in 0..<5 { _ = try await bobClient.event("typing") }
        // (A command after the refused one: its event would have come before this reply's.)
        _ = try await bobClient.command(["op": "ping"])
        #expect(bobClient.received { $0["ev"] as? String == "typing" }.isEmpty)

        // Status changes.
        for status in ["away", "busy"] {
            #expect(try await aliceClient.command(["op": "status", "status": status])["ok"] as? Bool == true)
        }
        let status = try await aliceClient.command(["op": "status", "status": "online"])
        #expect((status["error"] as? [String: Any])?["code"] as? String == "rate_limited")

        // Edits and deletes share one budget across WebSocket and REST.
        let sent = try await aliceClient.command(["op": "send", "conv": conv, "text": "v0"])
        let id = (sent["message"] as? [String: Any])?["id"] as? String ?? ""
        for version in 1...3 {
            #expect(try await aliceClient.command(["op": "edit", "conv": conv, "msg": id, "text": "v\(version)"])["ok"] as? Bool == true)
        }
        let rest = try await node.request(
            "PATCH", "/api/v1/conversations/\(conv)/messages/\(id)", json: ["text": "v4"], token: alice.accessToken)
        #expect(rest.status == 429)
        #expect(rest.errorCode == "rate_limited")

        // Conversation creation, and membership churn.
        _ = try await node.create(["kind": "group", "name": "g1", "members": [bob.id]], as: carol)
        let group = try await node.create(["kind": "group", "name": "g2", "members": [bob.id]], as: carol)["id"] as! String
        let third = try await node.request("POST", "/api/v1/conversations", json: ["kind": "group", "name": "g3"], token: carol.accessToken)
        #expect(third.status == 429)
        let add = try await node.request("POST", "/api/v1/conversations/\(group)/members", json: ["users": [alice.id]], token: carol.accessToken)
        #expect(add.status == 200)
        _ = try await node.request("DELETE", "/api/v1/conversations/\(group)/members/\(alice.id)", token: carol.accessToken)
        let churn = try await node.request("POST", "/api/v1/conversations/\(group)/members", json: ["users": [alice.id]], token: carol.accessToken)
        #expect(churn.status == 429)
        await aliceClient.close()
        await bobClient.close()
    }

    // MARK: Bug: added member on another node

    /// The issue's scenario under load, end to end. The race it hunts is not
    /// certain to happen here: with the fill from the stream removed it still
    /// passed (checked), so the test below is the one that proves the fix.
    @Test func anAddedMemberOnAnotherNodeGetsTheFirstMessageLive() async throws {
        let (one, two) = try await TestNode.pair {
            $0.limits.sendBurst = 100_000
            $0.limits.sendRefillPerSecond = 100_000
        }
        defer {
            Task {
                await one.stop()
                await two.stop()
            }
        }
        let owner = try await one.register()
        let bob = try await one.register()
        let noise = try await one.register()
        let ownerClient = try await LiveClient.authenticated(one, owner)
        let bobClient = try await LiveClient.authenticated(two, bob)
        // Load: a stream of sends in another conversation while members are added.
        let busy = try await one.create(["kind": "group", "name": "busy", "members": [noise.id]], as: owner)["id"] as! String
        let loader = try await LiveClient.authenticated(one, owner)
        let load = Task {
            for index in 0..<2000 { _ = try? await loader.post(["op": "send", "conv": busy, "text": "load \(index)"]) }
        }
        for round in 0..<10 {
            let group = try await one.create(["kind": "group", "name": "r\(round)"], as: owner)["id"] as! String
            let added = try await one.request(
                "POST", "/api/v1/conversations/\(group)/members", json: ["users": [bob.id]], token: owner.accessToken)
            #expect(added.status == 200)
            // Right after the add, before Bob's node has seen anything.
            _ = try await ownerClient.command(["op": "send", "conv": group, "text": "first \(round)"])
            _ = try await bobClient.event("conversation", timeout: 20) {
                ($0["conversation"] as? [String: Any])?["id"] as? String == group && $0["change"] as? String == "added"
            }
            let message = try await bobClient.event("message", timeout: 20) {
                ($0["message"] as? [String: Any])?["conv"] as? String == group
            }
            #expect((message["message"] as? [String: Any])?["seq"] as? Int == 1)
        }
        load.cancel()
        // Each first message arrived exactly once.
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(bobClient.received { $0["ev"] as? String == "message" }.isEmpty)
        await ownerClient.close()
        await bobClient.close()
        await loader.close()
    }

    /// The race above made certain: the first message is published before
    /// Bob's node subscribes to the conversation (it is stored and published
    /// while only the owner's node knows of the add, then the `added` event
    /// reaches Bob's node with the seq at the add). Only the fill from the
    /// stream after that seq can bring it to Bob: without it, this fails.
    @Test func aMessagePublishedBeforeTheAddedMembersNodeSubscribedIsFilledFromTheStream() async throws {
        let (one, two) = try await TestNode.pair()
        defer {
            Task {
                await one.stop()
                await two.stop()
            }
        }
        let owner = try await one.register()
        let bob = try await one.register()
        let bobClient = try await LiveClient.authenticated(two, bob)
        let group = try await one.create(["kind": "group", "name": "late"], as: owner)["id"] as! String
        // The state at the add, as the event will carry it: seq 0.
        let object = try #require(try await one.conversation(group, as: owner).json["conversation"] as? [String: Any])
        var atAdd = try JSONDecoder().decode(Conversation.self, from: JSONSerialization.data(withJSONObject: object))
        atAdd.members?.append(Member(id: bob.id, role: .member))
        atAdd.unread = 0
        // The add itself, without its event yet (what add_members and the user index do).
        let keys = one.keys
        _ = try await one.redis.pipeline([
            RedisCommand("HSET", [keys.members(group), bob.id, "member"]),
            RedisCommand("ZADD", [keys.joined(group), 1, bob.id]),
            RedisCommand("HSET", [keys.readPointers(group), bob.id, 0]),
            RedisCommand("SADD", [keys.userConversations(bob.id), group]),
        ])
        // The first message: published while no node has Bob in the conversation.
        #expect(try await one.send(group, "first", as: owner).status == 201)
        // Now the `added` event reaches Bob's node.
        _ = try await one.redis.send(one.node.configuration.publishCommand, keys.userChannel(bob.id), LiveEvent.conversation(atAdd, change: "added"))
        _ = try await bobClient.event("conversation") { $0["change"] as? String == "added" }
        let message = try await bobClient.event("message") { ($0["message"] as? [String: Any])?["conv"] as? String == group }
        #expect((message["message"] as? [String: Any])?["text"] as? String == "first")
        // Live messages follow, each once.
        #expect(try await one.send(group, "second", as: owner).status == 201)
        let second = try await bobClient.event("message") { ($0["message"] as? [String: Any])?["conv"] as? String == group }
        #expect((second["message"] as? [String: Any])?["seq"] as? Int == 2)
        #expect(bobClient.messageSeqs(group).isEmpty)
        await bobClient.close()
    }

    // MARK: Item 6: one send budget per user

    @Test func oneSendBudgetAcrossNodesAndTransports() async throws {
        let (one, two) = try await TestNode.pair {
            $0.limits.sendBurst = 20
            $0.limits.sendRefillPerSecond = 0.01
            $0.limits.sendSyncInterval = 0.05
        }
        defer {
            Task {
                await one.stop()
                await two.stop()
            }
        }
        let alice = try await one.register()
        let bob = try await one.register()
        let conv = try await one.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        // REST on node 2 first: node 2 now tracks Alice's budget.
        let first = try await two.request("POST", "/api/v1/conversations/\(conv)/messages", json: ["text": "rest"], token: alice.accessToken)
        #expect(first.status == 201)
        // The WebSocket on node 1 spends the rest of it.
        let client = try await LiveClient.authenticated(one, alice)
        var accepted = 0
        for index in 0..<25 {
            let reply = try await client.command(["op": "send", "conv": conv, "text": "ws \(index)"])
            if reply["ok"] as? Bool == true { accepted += 1 } else { break }
        }
        // (Node 1 may overshoot by what it accepts within one sync interval.)
        #expect(accepted >= 1 && accepted <= 20)
        // Node 2 learns it at its next sync: REST is refused there too.
        let limiter = two.node.live.hub.sendLimiter
        let deadline = Date().addingTimeInterval(10)
        while limiter.tokens(of: alice.id) >= 1, Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        #expect(limiter.tokens(of: alice.id) < 1)
        let refused = try await two.request("POST", "/api/v1/conversations/\(conv)/messages", json: ["text": "rest 2"], token: alice.accessToken)
        #expect(refused.status == 429)
        #expect(refused.errorCode == "rate_limited")
        await client.close()
    }

    // MARK: Item 5: caps

    @Test func socketsOverTheCapAreClosedWith4013() async throws {
        var configuration = TestNode.configuration()
        configuration.live.maxConnectionsPerUser = 3
        let node = try await TestNode.start(configuration)
        defer { Task { await node.stop() } }
        let alice = try await node.register()
        var clients: [LiveClient] = []
        for _ in 0..<3 { clients.append(try await LiveClient.authenticated(node, alice)) }
        let fourth = try await LiveClient.connect(node)
        _ = try? await fourth.command(["op": "auth", "token": alice.accessToken], timeout: 2)
        #expect(await fourth.waitForClose(timeout: 10) == 4013)
        // One closes: a new one fits again.
        await clients.removeFirst().close()
        try await Task.sleep(nanoseconds: 300_000_000)
        let again = try await LiveClient.authenticated(node, alice)
        #expect(!again.isClosed)
        for client in clients + [again] { await client.close() }
    }

    @Test func watchingMoreUsersThanTheCapIsRefused() async throws {
        var configuration = TestNode.configuration()
        configuration.live.maxWatchedUsers = 10
        let node = try await TestNode.start(configuration)
        defer { Task { await node.stop() } }
        let alice = try await node.register()
        let client = try await LiveClient.authenticated(node, alice)
        let first = try await client.command(["op": "presence.watch", "users": (0..<8).map { "u_nobody\($0)" }])
        #expect(first["ok"] as? Bool == true)
        let over = try await client.command(["op": "presence.watch", "users": (5..<13).map { "u_nobody\($0)" }])
        #expect((over["error"] as? [String: Any])?["code"] as? String == "invalid_request")
        // Ids already watched do not count twice.
        let same = try await client.command(["op": "presence.watch", "users": (0..<10).map { "u_nobody\($0)" }])
        #expect(same["ok"] as? Bool == true)
        await client.close()
    }

    // MARK: Bug: a large resume closes the client

    @Test func aLargeResumeFollowsTheClientsPace() async throws {
        var configuration = TestNode.configuration()
        configuration.limits.sendBurst = 100_000
        configuration.limits.sendRefillPerSecond = 100_000
        let node = try await TestNode.start(configuration)
        defer { Task { await node.stop() } }
        let alice = try await node.register()
        let bob = try await node.register()
        var conversations: [String] = []
        for index in 0..<6 {
            let conv = try await node.create(["kind": "group", "name": "g\(index)", "members": [bob.id]], as: alice)["id"] as! String
            conversations.append(conv)
        }
        let sender = try await LiveClient.authenticated(node, alice)
        for conv in conversations {
            var last = 0
            let padding = String(repeating: "x", count: 100)
            for index in 0..<800 { last = try await sender.post(["op": "send", "conv": conv, "text": "message \(index) " + padding]) }
            _ = try await sender.waitFor(timeout: 60) { $0["re"] as? Int == last }
        }
        let client = try await LiveClient.authenticated(node, bob)
        let positions = Dictionary(uniqueKeysWithValues: conversations.map { ($0, 0) })
        let reply = try await client.command(["op": "resume", "positions": positions], timeout: 60)
        #expect(reply["ok"] as? Bool == true, "\(reply)")
        #expect(!client.isClosed)
        for conv in conversations {
            #expect(client.messageSeqs(conv) == Array(1...800))
        }
        await client.close()
        await sender.close()
    }
}

/// Opens the SDK's WebSocket connection with a path of our choosing.
enum WebSocketConnectionFactory {
    static func connect(port: Int, path: String, token: String) async throws -> WebSocketConnection {
        try await WebSocketConnection.connect(host: "127.0.0.1", port: port, path: path, headers: [("Authorization", "Bearer \(token)")])
    }
}
