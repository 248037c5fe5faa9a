import Foundation
import RedisClient
import SwitchboardClient
import SwitchboardCore
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("Presence, notifications and node lifecycle", .serialized)
struct PresenceTests {
    @Test func presenceOnlineBusyOfflineSeenAcrossNodes() async throws {
        let (a, b) = try await TestNode.pair()
        let alice = try await a.register()
        let bob = try await a.register()
        let watcher = try await LiveClient.authenticated(b, bob)
        let initial = try await watcher.command(["op": "presence.watch", "users": [alice.id]])
        let state = (initial["presence"] as? [String: Any])?[alice.id] as? [String: Any]
        #expect(state?["status"] as? String == "offline")
        #expect(state?["lastSeen"] is NSNull)

        let first = try await LiveClient.authenticated(a, alice)
        let online = try await watcher.event("presence") { $0["user"] as? String == alice.id }
        #expect(online["status"] as? String == "online")
        // TTL keys while connected.
        #expect(try await a.redis.send("TTL", a.keys.presence(alice.id)).int ?? -1 > 0)
        #expect(try await a.redis.send("TTL", a.keys.sockets(alice.id)).int ?? -1 > 0)
        let members = try await a.redis.send("ZRANGE", a.keys.sockets(alice.id), 0, -1).array?.compactMap(\.string) ?? []
        #expect(members.count == 1 && members[0].hasPrefix(a.switchboard.configuration.nodeID + "/"))

        #expect(try await first.command(["op": "status", "status": "busy"])["ok"] as? Bool == true)
        let busy = try await watcher.event("presence") { $0["user"] as? String == alice.id }
        #expect(busy["status"] as? String == "busy")
        let bad = try await first.command(["op": "status", "status": "asleep"])
        #expect((bad["error"] as? [String: Any])?["code"] as? String == "invalid_request")

        // A second connection (other node): still one user online; closing one keeps her online.
        let second = try await LiveClient.authenticated(b, alice)
        let seen = try await b.request("GET", "/api/v1/users/\(alice.id)", token: bob.accessToken)
        #expect((seen.json["presence"] as? [String: Any])?["status"] as? String == "busy")
        await first.close()
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(watcher.received { $0["ev"] as? String == "presence" && $0["status"] as? String == "offline" }.isEmpty)
        #expect(try await a.redis.send("ZCARD", a.keys.sockets(alice.id)).int == 1)
        await second.close()
        let offline = try await watcher.event("presence") { $0["user"] as? String == alice.id && $0["status"] as? String == "offline" }
        #expect(offline["lastSeen"] is Int)
        let after = try await b.request("GET", "/api/v1/users/\(alice.id)", token: bob.accessToken)
        #expect((after.json["presence"] as? [String: Any])?["status"] as? String == "offline")
        #expect((after.json["presence"] as? [String: Any])?["lastSeen"] is Int)
        #expect(try await a.redis.send("EXISTS", a.keys.presence(alice.id), a.keys.sockets(alice.id)).int == 0)

        _ = try await watcher.command(["op": "presence.unwatch", "users": [alice.id]])
        let again = try await LiveClient.authenticated(a, alice)
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(watcher.received { $0["ev"] as? String == "presence" }.isEmpty)
        await again.close()
        await watcher.close()
        await a.stop()
        await b.stop()
    }

    /// The heartbeat refreshes in pipelines of `refreshBatch` users: every
    /// user of every slice gets its entries, the last partial slice too.
    @Test func heartbeatRefreshReachesEveryUserAcrossItsPipelines() async throws {
        let node = try await TestNode.start()
        let count = PresenceService.refreshBatch * 2 + 44
        let prefix = "refresh-\(UInt32.random(in: 0...UInt32.max))-"
        var connections: [String: [String]] = [:]
        for index in 0..<count { connections["\(prefix)\(index)"] = ["\(node.switchboard.configuration.nodeID)/\(index)"] }
        try await node.switchboard.presence.refresh(connections)
        for (user, members) in connections {
            let held = try await node.redis.send("ZRANGE", node.keys.sockets(user), 0, -1).array?.compactMap(\.string) ?? []
            #expect(held == members, "sockets of \(user)")
            #expect(try await node.redis.send("HGET", node.keys.presence(user), "status").string == "online", "presence of \(user)")
        }
    }

    @Test func notificationsForOfflineMembersOnly() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let carol = try await node.register()
        let group = try await node.create(["kind": "group", "name": "N", "members": [bob.id, carol.id]], as: alice)["id"] as! String
        let carolOnline = try await LiveClient.authenticated(node, carol)
        let sender = try await LiveClient.authenticated(node, alice)
        _ = try await sender.command(["op": "send", "conv": group, "text": "while bob is away"])
        _ = try await node.send(group, "over REST", as: alice)
        func list(_ account: TestNode.Account) async throws -> [[String: Any]] {
            try await node.request("GET", "/api/v1/notifications", token: account.accessToken).json["notifications"] as? [[String: Any]] ?? []
        }
        var bobs: [[String: Any]] = []
        for _ in 0..<50 where bobs.count < 2 {
            bobs = try await list(bob)
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        #expect(bobs.count == 2)
        #expect((bobs.first?["message"] as? [String: Any])?["text"] as? String == "over REST")  // newest first
        #expect(bobs.first?["conv"] as? String == group)
        #expect(try await list(carol).isEmpty)  // she was connected
        #expect(try await list(alice).isEmpty)  // her own messages
        #expect(try await node.redis.send("TTL", node.keys.notifications(bob.id)).int ?? -1 > 0)

        // Rooms: only @mentions notify.
        let room = try await node.create(["kind": "room", "name": "Hall \(RandomID.make(length: 4))", "public": true], as: alice)["id"] as! String
        #expect(
            try await node.request("POST", "/api/v1/conversations/\(room)/members", json: ["users": [bob.id]], token: alice.accessToken).status == 200
        )
        _ = try await node.send(room, "hello all", as: alice)
        _ = try await node.send(room, "hey @\(bob.username.uppercased()) look", as: alice)
        var count = 0
        for _ in 0..<50 where count < 3 {
            count = try await list(bob).count
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        #expect(count == 3)

        // Pushed on the next connect, oldest first, once.
        let bobClient = try await LiveClient.authenticated(node, bob)
        let pushed = try await bobClient.event("notification")
        #expect(((pushed["notification"] as? [String: Any])?["message"] as? [String: Any])?["text"] as? String == "while bob is away")
        _ = try await bobClient.event("notification")
        _ = try await bobClient.event("notification")
        await bobClient.close()
        let reconnect = try await LiveClient.authenticated(node, bob)
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(reconnect.received { $0["ev"] as? String == "notification" }.isEmpty)

        #expect(try await node.request("DELETE", "/api/v1/notifications", token: bob.accessToken).status == 204)
        #expect(try await list(bob).isEmpty)
        await reconnect.close()
        await carolOnline.close()
        await sender.close()
        await node.stop()
    }

    /// The offline set `send` reads: members go out when connected (also when
    /// added while connected) and back in when their last connection closes.
    @Test func offlineSetFollowsConnections() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let carol = try await node.register()
        let carolOnline = try await LiveClient.authenticated(node, carol)
        let group = try await node.create(["kind": "group", "name": "O", "members": [bob.id, carol.id]], as: alice)["id"] as! String
        func offline() async throws -> Set<String> {
            Set(try await node.redis.send("SMEMBERS", node.keys.offline(group)).array?.compactMap(\.string) ?? [])
        }
        func waitFor(_ expected: Set<String>) async throws -> Set<String> {
            var current = try await offline()
            for _ in 0..<100 where current != expected {
                try await Task.sleep(nanoseconds: 20_000_000)
                current = try await offline()
            }
            return current
        }
        _ = try await carolOnline.event("conversation")
        #expect(try await waitFor([alice.id, bob.id]) == [alice.id, bob.id])  // carol was added while connected
        let bobClient = try await LiveClient.authenticated(node, bob)
        #expect(try await waitFor([alice.id]) == [alice.id])

        _ = try await node.send(group, "everyone is here", as: alice)
        try await Task.sleep(nanoseconds: 200_000_000)
        let list = { (account: TestNode.Account) in
            try await node.request("GET", "/api/v1/notifications", token: account.accessToken).json["notifications"] as? [[String: Any]] ?? []
        }
        #expect(try await list(bob).isEmpty)
        #expect(try await list(carol).isEmpty)

        await bobClient.close()
        #expect(try await waitFor([alice.id, bob.id]) == [alice.id, bob.id])
        _ = try await node.send(group, "bob left", as: alice)
        var bobs: [[String: Any]] = []
        for _ in 0..<50 where bobs.isEmpty {
            bobs = try await list(bob)
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        #expect(bobs.count == 1)
        #expect((bobs.first?["message"] as? [String: Any])?["text"] as? String == "bob left")
        #expect(try await list(carol).isEmpty)
        await carolOnline.close()
        await node.stop()
    }

    @Test func gracefulShutdownClosesWith1001AndRemovesEntries() async throws {
        let (a, b) = try await TestNode.pair()
        let alice = try await a.register()
        let client = try await LiveClient.authenticated(a, alice)
        let nodeID = a.switchboard.configuration.nodeID
        var registered = false
        for _ in 0..<100 where !registered {
            registered = try await b.redis.send("EXISTS", b.keys.node(nodeID)).int == 1
            if !registered { try await Task.sleep(nanoseconds: 50_000_000) }
        }
        #expect(registered)
        await a.stop()
        #expect(await client.waitForClose() == 1001)
        // Two EXISTS: the node key and the user's keys are in different slots on Redis Cluster.
        #expect(try await b.redis.send("EXISTS", b.keys.node(nodeID)).int == 0)
        #expect(try await b.redis.send("EXISTS", b.keys.sockets(alice.id), b.keys.presence(alice.id)).int == 0)
        #expect(try await b.redis.send("ZSCORE", b.keys.nodes, nodeID) == .null)
        await b.stop()
    }

    @Test func killedNodesUsersGoOfflineWithinTwoTTLs() async throws {
        var configuration = TestNode.configuration()
        configuration.live.presenceTTL = 1.5
        configuration.nodeID = "n_victim" + RandomID.make(length: 4)
        let victim = try await NodeProcess(configuration: configuration)
        var survivorConfiguration = configuration
        survivorConfiguration.nodeID = "n_survivor" + RandomID.make(length: 4)
        let survivor = try await TestNode.start(survivorConfiguration)
        let alice = try await survivor.register()
        let bob = try await survivor.register()
        let watcher = try await LiveClient.authenticated(survivor, bob)
        _ = try await watcher.command(["op": "presence.watch", "users": [alice.id]])
        let connection = LiveClient(
            try await WebSocketConnection.connect(
                host: "127.0.0.1", port: victim.port, headers: [("Authorization", "Bearer \(alice.accessToken)")]))
        #expect(try await connection.command(["op": "ping"])["ok"] as? Bool == true)
        _ = try await watcher.event("presence") { $0["status"] as? String == "online" }
        // Let one heartbeat record the victim's users.
        try await Task.sleep(nanoseconds: 800_000_000)
        let killedAt = Date()
        victim.kill(SIGKILL)
        await victim.wait()
        let offline = try await watcher.event("presence", timeout: 2 * 1.5 + 1.5) { $0["status"] as? String == "offline" }
        let elapsed = Date().timeIntervalSince(killedAt)
        #expect(offline["user"] as? String == alice.id)
        #expect(elapsed < 2 * 1.5 + 1.5, "offline after \(elapsed) s")
        #expect(try await survivor.redis.send("EXISTS", survivor.keys.sockets(alice.id)).int == 0)
        await watcher.close()
        await survivor.stop()
    }
}
