import Foundation
import RedisClient
import SwitchboardClient
import SwitchboardCore
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What a drill saw.
actor DrillLedger {
    /// Acknowledged sends: message id → (conversation, sender).
    var acked: [String: (String, String)] = [:]
    /// Deliveries: (message id, recipient) → count.
    var deliveries: [String: [String: Int]] = [:]
    var failures: [String: Int] = [:]

    func ack(_ message: Message) { acked[message.id] = (message.conv, message.from) }
    func deliver(_ message: Message, to user: String) { deliveries[message.id, default: [:]][user, default: 0] += 1 }
    func fail(_ code: String) { failures[code, default: 0] += 1 }

    /// Acked messages some member never got: (message id, conversation, member).
    func missing(members: [String: [String]]) -> [(String, String, String)] {
        var result: [(String, String, String)] = []
        for (id, (conversation, sender)) in acked {
            for member in members[conversation] ?? [] where member != sender && (deliveries[id]?[member] ?? 0) == 0 {
                result.append((id, conversation, member))
            }
        }
        return result
    }

    /// Counts against conversation membership: every acked message to every other member, exactly once.
    func audit(members: [String: [String]]) -> (acked: Int, expected: Int, delivered: Int, duplicates: Int, lost: Int) {
        var expected = 0
        var delivered = 0
        var duplicates = 0
        var lost = 0
        for (id, (conversation, sender)) in acked {
            for member in members[conversation] ?? [] where member != sender {
                expected += 1
                let count = deliveries[id]?[member] ?? 0
                if count == 0 { lost += 1 } else { delivered += 1 }
                if count > 1 { duplicates += count - 1 }
            }
        }
        return (acked.count, expected, delivered, duplicates, lost)
    }
}

/// Three node processes, haproxy, and clients talking through it.
struct DrillCluster {
    let redis: TestRedisServer
    let nodes: [NodeProcess]
    let balancer: LoadBalancer
    let configuration: SwitchboardConfiguration

    static func start(redis: TestRedisServer, nodes count: Int = 3) async throws -> DrillCluster {
        var configuration = TestNode.configuration()
        configuration.redisURL = redis.url
        configuration.redisClusterSeeds = []  // its own Redis, not the test cluster
        configuration.live.presenceTTL = 2
        var nodes: [NodeProcess] = []
        for index in 0..<count {
            var node = configuration
            node.nodeID = "n_drill\(index)_" + RandomID.make(length: 4)
            nodes.append(
                try await NodeProcess(
                    configuration: node,
                    arguments: [
                        "--send-burst", "100000", "--send-rate", "100000", "--scrypt-n", "1024",
                        "--register-limit", "100000", "--login-limit", "100000",
                    ]))
        }
        let balancer = try LoadBalancer(backends: nodes.map(\.port))
        // Until haproxy has seen the nodes healthy.
        for _ in 0..<100 {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(balancer.port)/ready")!),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                break
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        return DrillCluster(redis: redis, nodes: nodes, balancer: balancer, configuration: configuration)
    }

    func post(_ path: String, _ body: [String: Any], token: String? = nil) async throws -> [String: Any] {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(balancer.port)\(path)")!)
        request.httpMethod = "POST"
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, _) = try await URLSession.shared.data(for: request)
        return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// `users` accounts in groups of `groupSize`, each with an SDK client through the balancer.
    func population(users: Int, groupSize: Int, ledger: DrillLedger) async throws -> Population {
        var accounts: [(id: String, token: String)] = []
        for index in 0..<users {
            let reply = try await post(
                "/api/v1/auth/register", ["username": "drill\(index)_\(RandomID.make(length: 5))", "password": "drill-password"])
            accounts.append(((reply["user"] as? [String: Any])?["id"] as? String ?? "", reply["accessToken"] as? String ?? ""))
        }
        var members: [String: [String]] = [:]
        var conversationOf: [String: String] = [:]
        for start in stride(from: 0, to: users, by: groupSize) {
            let group = Array(accounts[start..<min(start + groupSize, users)])
            let reply = try await post(
                "/api/v1/conversations", ["kind": "group", "name": "drill", "members": group.dropFirst().map(\.id)], token: group[0].token)
            let id = (reply["conversation"] as? [String: Any])?["id"] as? String ?? ""
            members[id] = group.map(\.id)
            for account in group { conversationOf[account.id] = id }
        }
        var clients: [(user: String, client: SwitchboardClient)] = []
        for account in accounts {
            var configuration = SwitchboardClient.Configuration(endpoints: [("127.0.0.1", balancer.port)], token: { account.token })
            configuration.initialBackoff = 0.05
            configuration.maximumBackoff = 0.5
            let client = SwitchboardClient(configuration: configuration)
            try await client.connect()
            let user = account.id
            Task {
                for await event in client.events {
                    if case .message(let message) = event { await ledger.deliver(message, to: user) }
                }
            }
            clients.append((user, client))
        }
        return Population(members: members, conversationOf: conversationOf, clients: clients)
    }
}

struct Population {
    let members: [String: [String]]
    let conversationOf: [String: String]
    let clients: [(user: String, client: SwitchboardClient)]

    /// Every client sends one message every `interval` seconds until `stop` says so.
    func traffic(_ ledger: DrillLedger, interval: Double, while running: @escaping @Sendable () async -> Bool) -> Task<Void, Never> {
        let clients = self.clients
        let conversationOf = self.conversationOf
        return Task {
            await withTaskGroup(of: Void.self) { group in
                for (user, client) in clients {
                    let conversation = conversationOf[user] ?? ""
                    group.addTask {
                        try? await Task.sleep(nanoseconds: UInt64(Double.random(in: 0...interval) * 1e9))
                        var index = 0
                        while await running() {
                            index += 1
                            do {
                                let message = try await client.send("\(user) #\(index)", to: conversation)
                                await ledger.ack(message)
                            } catch let error as ChatError {
                                await ledger.fail(error.code.rawValue)
                            } catch {
                                await ledger.fail("other")
                            }
                            try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
                        }
                    }
                }
            }
        }
    }

    func close() async { for (_, client) in clients { await client.close() } }
}

actor Flag {
    var on = true
    func stop() { on = false }
    func isOn() -> Bool { on }
}

@Suite("Failure drills through a load balancer", .serialized)
struct FailureDrillTests {
    /// Waits until every acked message reached every member, or the time is up.
    func settle(
        _ ledger: DrillLedger, _ population: Population, seconds: Double
    ) async -> (acked: Int, expected: Int, delivered: Int, duplicates: Int, lost: Int) {
        let deadline = Date().addingTimeInterval(seconds)
        var audit = await ledger.audit(members: population.members)
        while audit.lost > 0, Date() < deadline {
            try? await Task.sleep(nanoseconds: 200_000_000)
            audit = await ledger.audit(members: population.members)
        }
        return audit
    }

    /// Waits until more than `count` sends were acknowledged (at most 60 s); answers how many were.
    func waitForAcks(_ ledger: DrillLedger, above count: Int) async -> Int {
        let deadline = Date().addingTimeInterval(60)
        var acked = await ledger.acked.count
        while acked <= count, Date() < deadline {
            try? await Task.sleep(nanoseconds: 100_000_000)
            acked = await ledger.acked.count
        }
        return acked
    }

    @Test func nodeKilledAndNodeStoppedUnderTraffic() async throws {
        let redis = try TestRedisServer(appendOnly: true)
        try await redis.start()
        let cluster = try await DrillCluster.start(redis: redis)
        let ledger = DrillLedger()
        let population = try await cluster.population(users: 300, groupSize: 10, ledger: ledger)
        FileHandle.standardError.write(Data("drill: 300 clients connected through haproxy\n".utf8))
        // A user connected straight to the node that dies, and a watcher on another node.
        let watcherUser = try await cluster.post(
            "/api/v1/auth/register", ["username": "watcher_\(RandomID.make(length: 6))", "password": "drill-password"])
        let watcherToken = watcherUser["accessToken"] as? String ?? ""
        let watcher = SwitchboardClient(configuration: .init(endpoints: [("127.0.0.1", cluster.nodes[2].port)], token: { watcherToken }))
        try await watcher.connect()
        let victimUser = try await cluster.post(
            "/api/v1/auth/register", ["username": "victim_\(RandomID.make(length: 6))", "password": "drill-password"])
        let victimID = (victimUser["user"] as? [String: Any])?["id"] as? String ?? ""
        let victimToken = victimUser["accessToken"] as? String ?? ""
        let direct = try await WebSocketConnection.connect(
            host: "127.0.0.1", port: cluster.nodes[0].port, headers: [("Authorization", "Bearer \(victimToken)")])
        _ = direct
        _ = try await watcher.watchPresence([victimID])
        let offline = Task {
            for await event in watcher.events {
                if case .presence(let user, let status, _) = event, user == victimID, status == .offline { return Date() }
            }
            return Date.distantFuture
        }
        let offlineTimeout = Task {
            try? await Task.sleep(nanoseconds: 30_000_000_000)
            offline.cancel()
        }

        let flag = Flag()
        let traffic = population.traffic(ledger, interval: 0.5) { await flag.isOn() }
        // Each phase lasts until traffic has flowed through it (however loaded the machine is).
        let beforeKill = await waitForAcks(ledger, above: 100)
        let killedAt = Date()
        cluster.nodes[0].kill(SIGKILL)
        let afterKill = await waitForAcks(ledger, above: beforeKill + 150)
        // SIGTERM another node: its clients get 1001 and resume elsewhere.
        cluster.nodes[1].kill(SIGTERM)
        let afterTerm = await waitForAcks(ledger, above: afterKill + 150)
        await flag.stop()
        await traffic.value
        let audit = await settle(ledger, population, seconds: 20)
        let failures = await ledger.failures
        print(
            "drill node kill + SIGTERM: acked \(audit.acked), expected deliveries \(audit.expected), delivered \(audit.delivered), duplicates \(audit.duplicates), lost \(audit.lost), failed sends \(failures)"
        )
        for (id, conversation, member) in await ledger.missing(members: population.members).prefix(5) {
            let client = population.clients.first { $0.user == member }?.client
            let position = await client?.contiguousPositions[conversation]
            print("drill: lost \(id) in \(conversation) for \(member), whose contiguous position is \(position.map(String.init) ?? "none")")
        }
        // Sends went on being acknowledged after each node went away.
        #expect(afterKill > beforeKill + 150, "acked \(beforeKill) before the kill, \(afterKill) after")
        #expect(afterTerm > afterKill + 150, "acked \(afterKill) before the SIGTERM, \(afterTerm) after")
        #expect(audit.lost == 0)
        #expect(audit.duplicates == 0)
        let offlineAt = await offline.value
        offlineTimeout.cancel()
        await watcher.close()
        #expect(offlineAt.timeIntervalSince(killedAt) < 2 * 2 + 1, "offline after \(offlineAt.timeIntervalSince(killedAt)) s")
        await cluster.nodes[1].wait()
        #expect(cluster.nodes[1].process.terminationStatus == 0 || cluster.nodes[1].process.terminationReason == .exit)
        await population.close()
    }

    @Test func redisRestartedUnderTraffic() async throws {
        let redis = try TestRedisServer(appendOnly: true)
        try await redis.start()
        let cluster = try await DrillCluster.start(redis: redis, nodes: 2)
        let ledger = DrillLedger()
        let population = try await cluster.population(users: 100, groupSize: 10, ledger: ledger)
        let flag = Flag()
        let traffic = population.traffic(ledger, interval: 0.3) { await flag.isOn() }
        try await Task.sleep(nanoseconds: 1_500_000_000)
        await redis.stop()
        // While Redis is down: /ready answers 503 and sends fail with unavailable, at once.
        var notReady = 0
        for node in cluster.nodes {
            let (_, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(node.port)/ready")!)
            if (response as? HTTPURLResponse)?.statusCode == 503 { notReady += 1 }
        }
        #expect(notReady == cluster.nodes.count)
        let started = Date()
        do {
            _ = try await population.clients[0].client.send("during the outage", to: population.conversationOf[population.clients[0].user]!)
            Issue.record("a send succeeded while Redis was down")
        } catch let error as ChatError {
            #expect(error.code == "unavailable")
        }
        #expect(Date().timeIntervalSince(started) < 5, "the failing send hung")
        try await Task.sleep(nanoseconds: 1_000_000_000)
        try await redis.start()
        var ready = 0
        for _ in 0..<100 where ready < cluster.nodes.count {
            ready = 0
            for node in cluster.nodes {
                if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(node.port)/ready")!),
                    (response as? HTTPURLResponse)?.statusCode == 200
                {
                    ready += 1
                }
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(ready == cluster.nodes.count)
        try await Task.sleep(nanoseconds: 2_000_000_000)
        await flag.stop()
        await traffic.value
        let audit = await settle(ledger, population, seconds: 20)
        let failures = await ledger.failures
        print(
            "drill redis restart: acked \(audit.acked), expected deliveries \(audit.expected), delivered \(audit.delivered), duplicates \(audit.duplicates), lost \(audit.lost), failed sends \(failures)"
        )
        #expect(audit.lost == 0)
        #expect(audit.duplicates == 0)
        #expect(failures["unavailable", default: 0] > 0)
        // Every acknowledged message is in Redis after the restart.
        let check = RedisClient(configuration: try RedisConfiguration(url: redis.url))
        let keys = KeyLayout(prefix: cluster.configuration.prefix)
        var stored = 0
        for conversation in population.members.keys {
            stored += try await check.send("XLEN", keys.messages(conversation)).int ?? 0
        }
        #expect(stored >= audit.acked)
        await check.shutdown()
        await population.close()
    }
}
