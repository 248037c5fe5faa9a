import Foundation
import RedisClient
import SwitchboardClient
import SwitchboardCore
import SwitchboardTestSupport
import Testing

/// What one drill saw.
actor SentinelLedger {
    var acked: [(conversation: String, id: String, at: Date)] = []
    var failures: [String: Int] = [:]
    var latencies: [(at: Date, seconds: Double)] = []

    func ack(_ message: Message, latency: Double) {
        acked.append((message.conv, message.id, Date()))
        latencies.append((Date(), latency))
    }

    /// Send latencies (acknowledged ones) before `date`, sorted.
    func latencies(before date: Date) -> [Double] { latencies.filter { $0.at < date }.map(\.seconds).sorted() }

    func fail(_ code: String) { failures[code, default: 0] += 1 }
    func ackedCount(after date: Date) -> Int { acked.filter { $0.at > date }.count }
}

extension FailureDrillTests {
    /// Nested in the failure drills so that the drills run one at a time: each
    /// is sensitive to the CPU the others take.
    @Suite("Sentinel failover drill", .serialized)
    struct SentinelDrillTests {
        struct Outcome {
            var acked: Int
            var lost: Int
            var ackedAfterFailover: Int
            var failoverSeconds: Double
            var promotionSeconds: Double
            var failures: [String: Int]
            var medianMilliseconds: Double
            var p99Milliseconds: Double
            var sequentialMedianMilliseconds: Double
            var sequentialP99Milliseconds: Double
            var shortfallBeforeKill: Int
            var shortfall: Int
        }

        /// Clients send through one node under Sentinel; the master is SIGKILLed;
        /// the node must follow the promoted replica and keep serving. Counts the
        /// acknowledged messages the new master does not have. Once the replica is
        /// promoted the old master is started again as the new master's replica
        /// (with WAIT 1, sends wait the timeout until it has synced).
        ///
        /// `replicaLag`: 300 ms before the kill the replica's link breaks, as in a
        /// network blip: the replica sleeps 0.6 s (`DEBUG SLEEP`, so it cannot
        /// reconnect at once) and the master drops the link (`CLIENT KILL TYPE
        /// replica`). What the master acknowledges meanwhile never reaches the
        /// replica that will be promoted.
        func drill(waitReplicas: Int, replicaLag: Bool, users: Int = 6, groupSize: Int = 3) async throws -> Outcome {
            let setup = try await TestSentinels.start()
            var configuration = TestNode.configuration()
            configuration.redisURL = "redis://"
            configuration.redisSentinels = setup.sentinels.map(\.hostPort)
            configuration.redisClusterSeeds = []  // its own Redis, not the test cluster
            configuration.redisSentinelMaster = TestSentinels.masterName
            configuration.redisWaitReplicas = waitReplicas
            configuration.limits.sendBurst = 10_000
            configuration.limits.sendRefillPerSecond = 10_000
            let node = try await TestNode.start(configuration)
            var accounts: [TestNode.Account] = []
            for _ in 0..<users { accounts.append(try await node.register()) }
            var conversationOf: [String: String] = [:]
            for start in stride(from: 0, to: users, by: groupSize) {
                let group = Array(accounts[start..<min(start + groupSize, users)])
                let reply = try await node.request(
                    "POST", "/api/v1/conversations", json: ["kind": "group", "name": "drill", "members": group.dropFirst().map(\.id)],
                    token: group[0].accessToken)
                let id = (reply.json["conversation"] as? [String: Any])?["id"] as? String ?? ""
                for account in group { conversationOf[account.id] = id }
            }
            var clients: [(user: String, client: SwitchboardClient)] = []
            for account in accounts {
                let token = account.accessToken
                var clientConfiguration = SwitchboardClient.Configuration(endpoints: [("127.0.0.1", node.port)], token: { token })
                clientConfiguration.initialBackoff = 0.05
                clientConfiguration.maximumBackoff = 0.5
                clientConfiguration.requestTimeout = 5
                let client = SwitchboardClient(configuration: clientConfiguration)
                try await client.connect()
                clients.append((account.id, client))
            }
            // The cost of WAIT alone: 300 sends one after the other, straight into the service.
            var sequential: [Double] = []
            let firstConversation = conversationOf[accounts[0].id] ?? ""
            for index in 0..<300 {
                let started = Date()
                _ = try await node.switchboard.conversations.send(
                    firstConversation, from: accounts[0].id, text: "warm-up \(index)", nonce: nil)
                sequential.append(Date().timeIntervalSince(started))
            }
            sequential.sort()
            let ledger = SentinelLedger()
            let running = Flag()
            let senders = clients
            let conversations = conversationOf
            let traffic = Task {
                await withTaskGroup(of: Void.self) { group in
                    for (user, client) in senders {
                        let conversation = conversations[user] ?? ""
                        group.addTask {
                            var index = 0
                            while await running.isOn() {
                                index += 1
                                let started = Date()
                                do {
                                    let message = try await client.send("\(user) #\(index)", to: conversation)
                                    await ledger.ack(message, latency: Date().timeIntervalSince(started))
                                } catch let error as ChatError {
                                    await ledger.fail(error.code.rawValue)
                                } catch {
                                    await ledger.fail("other")
                                }
                                try? await Task.sleep(nanoseconds: 20_000_000)
                            }
                        }
                    }
                }
            }
            try await Task.sleep(nanoseconds: 2_000_000_000)
            let oldMaster = setup.master.port
            let shortfallBeforeKill = node.switchboard.conversations.replicationShortfall.total
            if replicaLag {
                let replica = setup.replica
                Task { try? await replica.command("DEBUG", "SLEEP", "0.6") }
                try await Task.sleep(nanoseconds: 20_000_000)
                try await setup.master.command("CLIENT", "KILL", "TYPE", "replica")
                try await Task.sleep(nanoseconds: 300_000_000)
            }
            let killedAt = Date()
            setup.master.kill()
            // Recovered: the sentinels promoted the replica and sends are acknowledged again.
            var recoveredAt: Date?
            var promotedAt: Date?
            for _ in 0..<600 {
                let promoted = try await setup.failoverComplete()
                if promoted, promotedAt == nil {
                    promotedAt = Date()
                    // Back as the new master's replica from its first second, and never
                    // to be promoted (see `TestSentinels.restartOldMasterAsReplica`).
                    try await setup.restartOldMasterAsReplica()
                }
                if promoted, await ledger.ackedCount(after: killedAt) >= 20 {
                    recoveredAt = Date()
                    break
                }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            try await Task.sleep(nanoseconds: 1_000_000_000)
            await running.stop()
            await traffic.value
            for (_, client) in clients { await client.close() }

            #expect(recoveredAt != nil, "the node did not recover after the master was killed")
            let finalMaster = try await setup.masterPort()
            #expect(finalMaster == setup.replica.port)
            if finalMaster != setup.replica.port || recoveredAt == nil || ProcessInfo.processInfo.environment["SENTINEL_DRILL_LOGS"] != nil {
                FileHandle.standardError.write(Data("sentinel drill: the instances' logs\n\(setup.logs())\n".utf8))
            }
            #expect(node.redis.masterLocator?.current == .tcp(host: "127.0.0.1", port: setup.replica.port))
            #expect(oldMaster != setup.replica.port)
            // The node serves after the failover: a send over REST and the readiness probe.
            let ready = try await node.request("GET", "/ready")
            #expect(ready.status == 200)

            // What the new master has of every acknowledged message.
            let acked = await ledger.acked
            var stored: Set<String> = []
            for conversation in Set(conversationOf.values) {
                let entries = try await node.redis.send("XRANGE", node.keys.messages(conversation), "-", "+").array ?? []
                for entry in entries { if let id = entry.array?.first?.string { stored.insert(id) } }
            }
            let lost = acked.filter { !stored.contains($0.id) }.count
            let latencies = await ledger.latencies(before: killedAt)
            let outcome = Outcome(
                acked: acked.count, lost: lost, ackedAfterFailover: acked.filter { $0.at > killedAt }.count,
                failoverSeconds: (recoveredAt ?? Date()).timeIntervalSince(killedAt),
                promotionSeconds: (promotedAt ?? Date()).timeIntervalSince(killedAt), failures: await ledger.failures,
                medianMilliseconds: latencies.isEmpty ? 0 : latencies[latencies.count / 2] * 1000,
                p99Milliseconds: latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, latencies.count * 99 / 100)] * 1000,
                sequentialMedianMilliseconds: sequential[sequential.count / 2] * 1000,
                sequentialP99Milliseconds: sequential[sequential.count * 99 / 100] * 1000,
                shortfallBeforeKill: shortfallBeforeKill, shortfall: node.switchboard.conversations.replicationShortfall.total)
            func format(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }
            var report =
                "sentinel drill (WAIT \(waitReplicas)\(replicaLag ? ", replica lagging" : "")): \(users) clients, acked \(outcome.acked), lost \(outcome.lost), "
            report += "acked after the kill \(outcome.ackedAfterFailover), replica promoted after \(format(outcome.promotionSeconds)) s, "
            report += "20 sends acked after the kill at \(format(outcome.failoverSeconds)) s, "
            report +=
                "sequential send p50 \(format(outcome.sequentialMedianMilliseconds, 3)) ms p99 \(format(outcome.sequentialP99Milliseconds, 3)) ms, "
            report +=
                "send under traffic before the kill p50 \(format(outcome.medianMilliseconds, 2)) ms p99 \(format(outcome.p99Milliseconds, 2)) ms, "
            report += "acked without the replicas (WAIT timed out) \(outcome.shortfallBeforeKill) before the kill, "
            report += "\(outcome.shortfall) in all, failed sends \(outcome.failures)\n"
            FileHandle.standardError.write(Data(report.utf8))
            await node.stop()
            await setup.stop()
            return outcome
        }

        @Test func masterKilledWithoutWait() async throws {
            let outcome = try await drill(waitReplicas: 0, replicaLag: false)
            // Asynchronous replication: a few acknowledged messages may be lost; the count is reported, not asserted.
            #expect(outcome.ackedAfterFailover > 0)
        }

        @Test func masterKilledWithoutWaitWhileTheReplicaLags() async throws {
            let outcome = try await drill(waitReplicas: 0, replicaLag: true)
            #expect(outcome.ackedAfterFailover > 0)
        }

        /// Flaked in CI until the old master came back as a replica (see
        /// `TestSentinels.restartOldMasterAsReplica`): started empty as a
        /// master, it won the address back through a second failover.
        @Test func masterKilledWithWaitOneReplicaWhileTheReplicaLags() async throws {
            let outcome = try await drill(waitReplicas: 1, replicaLag: true)
            #expect(outcome.ackedAfterFailover > 0)
            // Every message acknowledged before the kill was on the replica that became the master.
            if outcome.shortfallBeforeKill == 0 { #expect(outcome.lost == 0) }
        }
    }
}
