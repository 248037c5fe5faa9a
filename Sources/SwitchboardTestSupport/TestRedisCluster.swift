import Foundation
import NIOCore
import RedisClient
import Synchronization

/// A Redis Cluster on loopback for tests: masters with a replica each
/// (three and three by default), made with `redis-cli --cluster create`,
/// ready when every node says `cluster_state:ok` and agrees on the slot map.
///
/// With `tls`, every node listens on a TLS port only (`--port 0 --tls-port P`)
/// and the cluster bus and replication use TLS too (`tls-cluster yes`,
/// `tls-replication yes`): `CLUSTER SHARDS` then names each node's `tls-port`
/// and no `port`. The fixture's own checks go through each node's plain unix socket.
public final class TestRedisCluster: Sendable {
    /// Every node, in the order given to `redis-cli --cluster create` (masters first).
    public let nodes: [TestRedisServer]
    /// The TLS settings of every node, nil for plain TCP.
    public let tls: TestRedisServer.TLS?

    private init(nodes: [TestRedisServer], tls: TestRedisServer.TLS?) {
        self.nodes = nodes
        self.tls = tls
    }

    /// Starts the servers, creates the cluster and waits until it is ready.
    public static func start(masters: Int = 3, replicasPerMaster: Int = 1, tls: TestRedisServer.TLS? = nil) async throws -> TestRedisCluster {
        var nodes: [TestRedisServer] = []
        for _ in 0..<(masters * (1 + replicasPerMaster)) {
            let node = try TestRedisServer(tls: tls, role: .clusterNode(busPort: try LoopbackPort.free()))
            try await node.start()
            nodes.append(node)
        }
        let cluster = TestRedisCluster(nodes: nodes, tls: tls)
        ClusterReaper.register(nodes)
        var tlsArguments: [String] = []
        if let tls {
            tlsArguments = [
                "--tls", "--cacert", tls.certificates.caFile,
                "--cert", tls.certificates.clientCertificateFile, "--key", tls.certificates.clientKeyFile,
            ]
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestEnvironment.which("redis-cli"))
        process.arguments =
            tlsArguments + ["--cluster", "create"] + nodes.map(\.hostPort)
            + ["--cluster-replicas", "\(replicasPerMaster)", "--cluster-yes"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // It waits for the cluster to join (seconds): off the cooperative pool.
        let text = try await OffPool.run {
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        guard process.terminationStatus == 0 else {
            cluster.kill()
            throw TestSupportError("redis-cli --cluster create failed: \(text.suffix(500))")
        }
        try await cluster.waitUntilReady()
        return cluster
    }

    /// The seed list as `--redis-cluster` takes it.
    public var seeds: String { nodes.map(\.hostPort).joined(separator: ",") }

    /// The seeds as addresses, for a `RedisClusterConfiguration`.
    public var seedAddresses: [RedisConfiguration.Address] { nodes.map { .tcp(host: "127.0.0.1", port: $0.port) } }

    /// A client configuration for the cluster: its seeds, and with TLS the
    /// test CA (and `ca` instead of it when given, for "wrong CA" tests).
    public func clientConfiguration(ca: String? = nil) -> RedisConfiguration {
        var configuration = RedisConfiguration()
        configuration.cluster = RedisClusterConfiguration(seeds: seedAddresses)
        if let tls {
            configuration.tls = RedisTLSConfiguration(caFile: ca ?? tls.certificates.caFile)
        }
        return configuration
    }

    /// The node on a port.
    public func node(port: Int) -> TestRedisServer? { nodes.first { $0.port == port } }

    /// The slot map as a running node sees it.
    public func topology() async throws -> RedisClusterTopology {
        var lastError: (any Error)?
        for node in nodes where node.isRunning {
            do {
                let reply = try await node.command("CLUSTER", "SHARDS")
                return try RedisClusterTopology(shardsReply: reply, tls: false, answeredBy: "127.0.0.1")
            } catch {
                lastError = error
            }
        }
        throw lastError ?? TestSupportError("no cluster node is running")
    }

    /// The port of the master that serves `key`'s slot.
    public func masterPort(forKey key: String) async throws -> Int {
        let topology = try await topology()
        guard case .tcp(_, let port) = topology.master(for: RedisHashSlot(key: key)) else {
            throw TestSupportError("no master serves the slot of \(key)")
        }
        return port
    }

    /// The ports of every master.
    public func masterPorts() async throws -> [Int] {
        try await topology().masters.compactMap { address in
            if case .tcp(_, let port) = address { return port }
            return nil
        }
    }

    /// The port of one replica of the master on `masterPort`.
    public func replicaPort(of masterPort: Int) async throws -> Int? {
        let topology = try await topology()
        let shard = topology.shards.first { $0.master == .tcp(host: "127.0.0.1", port: masterPort) }
        guard case .tcp(_, let port) = shard?.replicas.first else { return nil }
        return port
    }

    /// The port of a replica of the master on `masterPort`, asking again for a
    /// while: right after the cluster was made or a slot moved, a node's view
    /// can list a shard without its replica for a moment.
    public func waitForReplica(of masterPort: Int, timeout seconds: Double = 20) async throws -> Int {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let port = try await replicaPort(of: masterPort) { return port }
            if Date() > deadline { throw TestSupportError("no replica of \(masterPort) after \(Int(seconds)) s") }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
    }

    /// Until every running node says `cluster_state:ok`, knows a master for
    /// every slot, and all of them name the same masters, and every replica is in sync.
    public func waitUntilReady(timeout seconds: Double = 60) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        var last = ""
        while Date() < deadline {
            var views: Set<[String]> = []
            var ready = true
            for node in nodes where node.isRunning {
                guard let info = try? await node.command("CLUSTER", "INFO").string, info.contains("cluster_state:ok"),
                    let reply = try? await node.command("CLUSTER", "SHARDS"),
                    let topology = try? RedisClusterTopology(shardsReply: reply, tls: false, answeredBy: "127.0.0.1"),
                    topology.coversAllSlots
                else {
                    ready = false
                    last = "node \(node.port) not ok"
                    break
                }
                views.insert(topology.shards.map { "\($0.master)=\($0.slots)" }.sorted())
                if let role = try? await node.command("ROLE").array, role.first?.string == "slave",
                    role.count > 3, role[3].string != "connected"
                {
                    ready = false
                    last = "replica \(node.port) \(role[3])"
                }
            }
            if ready, views.count == 1 { return }
            if views.count > 1 { last = "nodes disagree on the slot map" }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw TestSupportError("the test cluster is not ready: \(last)")
    }

    /// Moves one slot with its keys from its master to the master on `targetPort`,
    /// the way `redis-cli --cluster reshard` does.
    public func moveSlot(_ slot: Int, to targetPort: Int) async throws {
        let sourcePort = try await masterPort(forSlot: slot)
        guard sourcePort != targetPort, let source = node(port: sourcePort), let target = node(port: targetPort) else { return }
        try await beginMigration(slot, from: source, to: target)
        try await migrateKeys(slot, from: source, to: target)
        try await finishMigration(slot, to: target)
    }

    /// The port of the master that serves a slot.
    public func masterPort(forSlot slot: Int) async throws -> Int {
        guard case .tcp(_, let port) = try await topology().master(for: RedisHashSlot(rawValue: slot)) else {
            throw TestSupportError("no master serves slot \(slot)")
        }
        return port
    }

    /// `CLUSTER SETSLOT … IMPORTING` on the target, `MIGRATING` on the source: the slot is half-moved (`ASK`).
    public func beginMigration(_ slot: Int, from source: TestRedisServer, to target: TestRedisServer) async throws {
        let sourceID = try await source.command("CLUSTER", "MYID").string ?? ""
        let targetID = try await target.command("CLUSTER", "MYID").string ?? ""
        try await target.command("CLUSTER", "SETSLOT", slot, "IMPORTING", sourceID)
        try await source.command("CLUSTER", "SETSLOT", slot, "MIGRATING", targetID)
    }

    /// `MIGRATE`s every key of the slot from the source to the target.
    public func migrateKeys(_ slot: Int, from source: TestRedisServer, to target: TestRedisServer) async throws {
        while true {
            let keys = try await source.command("CLUSTER", "GETKEYSINSLOT", slot, 100).array?.compactMap(\.string) ?? []
            if keys.isEmpty { return }
            var arguments: [any RedisArgumentConvertible] = ["127.0.0.1", target.port, "", 0, 5000, "KEYS"]
            arguments += keys
            let connection = try await source.connect()
            defer { _ = connection.close() }
            _ = try await connection.send(RedisCommand("MIGRATE", arguments)).get().throwingError()
        }
    }

    /// `CLUSTER SETSLOT … NODE` on every master: the slot belongs to the target.
    public func finishMigration(_ slot: Int, to target: TestRedisServer) async throws {
        let targetID = try await target.command("CLUSTER", "MYID").string ?? ""
        try await target.command("CLUSTER", "SETSLOT", slot, "NODE", targetID)
        for port in try await masterPorts() where port != target.port {
            try await node(port: port)?.command("CLUSTER", "SETSLOT", slot, "NODE", targetID)
        }
        try await waitUntilReady()
    }

    /// `CLUSTER FAILOVER` on a replica of the master on `masterPort`: the
    /// replica becomes the master (no write lost). Returns the new master's port.
    @discardableResult
    public func failover(masterPort: Int) async throws -> Int {
        // Right after a slot moved, a node's view can list a shard without its
        // replica for a moment: ask again for a while before giving up.
        var found: Int?
        let asked = Date()
        while found == nil, Date().timeIntervalSince(asked) < 20 {
            found = try await replicaPort(of: masterPort)
            if found == nil { try await Task.sleep(nanoseconds: 200_000_000) }
        }
        guard let replicaPort = found, let replica = node(port: replicaPort) else {
            throw TestSupportError("no replica of \(masterPort)")
        }
        try await replica.command("CLUSTER", "FAILOVER")
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if try await masterPorts().contains(replicaPort) {
                try await waitUntilReady()
                return replicaPort
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw TestSupportError("failover to \(replicaPort) did not happen")
    }

    /// SIGKILLs every node.
    public func kill() {
        for node in nodes { node.kill() }
    }
}

/// Kills the nodes of every test cluster when the test process exits: a
/// cluster kept in a `static` (shared by a suite) is never deinitialised.
enum ClusterReaper {
    private static let pids = Mutex<[Int32]>([])
    private static let installed = Mutex(false)

    static func register(_ nodes: [TestRedisServer]) {
        let new = nodes.compactMap(\.processIdentifier)
        pids.withLock { $0 += new }
        let first = installed.withLock { installed -> Bool in
            defer { installed = true }
            return !installed
        }
        if first {
            atexit {
                for pid in ClusterReaper.pids.withLock({ $0 }) { Foundation.kill(pid, SIGKILL) }
            }
        }
    }
}
