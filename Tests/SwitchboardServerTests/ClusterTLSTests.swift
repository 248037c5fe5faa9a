import Foundation
import RedisClient
import SwitchboardClient
import SwitchboardCore
import SwitchboardTestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Nodes on a Redis Cluster whose nodes listen on TLS only and require client
/// certificates (3 masters, no replicas): one node in the test process, one
/// `switchboard serve` started with the flags an operator gives.
@Suite("Node on a Redis Cluster over TLS", .serialized)
struct ClusterTLSTests {
    static func startCluster() async throws -> TestRedisCluster {
        try await TestRedisCluster.start(
            replicasPerMaster: 0, tls: .init(certificates: try await TestCertificates.shared(), authClients: "yes"))
    }

    /// The flags of `switchboard serve` for the cluster: `rediss://` for TLS
    /// (no host: the seeds say where), the seeds, the CA and the client certificate.
    static func serveArguments(_ cluster: TestRedisCluster, ca: String? = nil) async throws -> [String] {
        let certificates = try await TestCertificates.shared()
        return [
            "--redis-cluster", cluster.seeds, "--redis-ca-file", ca ?? certificates.caFile,
            "--redis-cert-file", certificates.clientCertificateFile, "--redis-key-file", certificates.clientKeyFile,
        ]
    }

    /// Alice on the in-process node, Bob on a `switchboard serve` process:
    /// the send script `SPUBLISH`es in the conversation's slot and Bob's node
    /// hears it on the shard that owns the slot, every link over TLS.
    @Test func twoUsersTalkAcrossNodesOnATLSCluster() async throws {
        let cluster = try await Self.startCluster()
        defer { cluster.kill() }
        let certificates = try await TestCertificates.shared()
        var configuration = TestNode.configuration()
        configuration.redisURL = "rediss://"
        configuration.redisClusterSeeds = [cluster.seeds]
        configuration.redisTLS = RedisTLSConfiguration(
            caFile: certificates.caFile, certificateFile: certificates.clientCertificateFile, keyFile: certificates.clientKeyFile)
        configuration.redisClusterMode = false
        let node = try await TestNode.start(configuration)
        #expect(node.redis.isCluster)
        #expect(node.redis.configuration.tls != nil)
        var processConfiguration = configuration
        processConfiguration.nodeID = "n_tls" + RandomID.make(length: 4)
        let process = try await NodeProcess(configuration: processConfiguration, arguments: try await Self.serveArguments(cluster))

        let alice = try await node.register()
        let bob = try await node.register()
        let conv = try await node.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        let aliceClient = try await LiveClient.authenticated(node, alice)
        // `auth` answers once Bob's node is subscribed to his conversations.
        let bobClient = LiveClient(try await WebSocketConnection.connect(host: "127.0.0.1", port: process.port, headers: []))
        #expect(try await bobClient.command(["op": "auth", "token": bob.accessToken])["ok"] as? Bool == true)
        let reply = try await aliceClient.command(["op": "send", "conv": conv, "text": "hello over TLS"])
        #expect(reply["ok"] as? Bool == true, "send answered \(reply)")
        let event = try await bobClient.event("message", timeout: 20)
        #expect((event["message"] as? [String: Any])?["text"] as? String == "hello over TLS")
        // The message is on the master of the conversation's slot (read through its plain unix socket).
        let port = try await cluster.masterPort(forKey: node.keys.messages(conv))
        #expect(try await cluster.node(port: port)?.command("XLEN", node.keys.messages(conv)).int == 1)

        // `switchboard events tail` reaches the per-slot streams over TLS with a client certificate.
        let total = try await EventStreamLocator(redis: node.redis, keys: node.keys, perSlot: true).length()
        let tail = Process()
        tail.executableURL = URL(fileURLWithPath: NodeProcess.binary)
        tail.arguments =
            ["events", "tail", "--redis-url", "rediss://", "--prefix", configuration.prefix, "--from-start", "--count", "\(total)"]
            + (try await Self.serveArguments(cluster))
        let output = Pipe()
        tail.standardOutput = output
        tail.standardError = FileHandle.nullDevice
        try tail.run()
        let watchdog = Task {
            try await Task.sleep(nanoseconds: 60_000_000_000)
            if tail.isRunning { tail.terminate() }
        }
        let printed = try await OffPool.run {
            let data = output.fileHandleForReading.readDataToEndOfFile()
            tail.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        watchdog.cancel()
        #expect(tail.terminationStatus == 0)
        let lines = printed.split(separator: "\n")
        #expect(lines.count == total)
        #expect(lines.contains { $0.contains(#""type":"message.sent""#) && $0.contains("hello over TLS") && $0.contains(#""stream":""#) })

        await aliceClient.close()
        await bobClient.close()
        process.kill(SIGTERM)
        await process.wait()
        await node.stop()
    }

    /// Seeds whose certificates the node does not trust: `switchboard serve`
    /// stays up with `/ready` at 503 and logs `Redis TLS failed` with the
    /// cause and the flag to check.
    @Test func wrongCAIsAClearStartupError() async throws {
        let cluster = try await Self.startCluster()
        defer { cluster.kill() }
        guard FileManager.default.isExecutableFile(atPath: NodeProcess.binary) else {
            throw TestSupportError("\(NodeProcess.binary) is missing: run `swift build --product switchboard` (scripts/test does)")
        }
        let port = try LoopbackPort.free()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: NodeProcess.binary)
        process.arguments =
            ["serve", "--port", "\(port)", "--redis-url", "rediss://", "--prefix", "t\(RandomID.make(length: 6)):", "--log-level", "warning"]
            + (try await Self.serveArguments(cluster, ca: try await TestCertificates.shared().otherCAFile))
        let log = LogCollector()
        let errors = Pipe()
        errors.fileHandleForReading.readabilityHandler = { handle in log.append(handle.availableData) }
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            errors.fileHandleForReading.readabilityHandler = nil
        }
        var line: Substring?
        for _ in 0..<200 where line == nil {
            line = log.text.split(separator: "\n").first { $0.contains("Redis TLS failed") }
            if line == nil { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        #expect(line?.contains("not signed by a trusted CA") == true, "log: \(log.text.suffix(2000))")
        #expect(line?.contains("--redis-ca-file") == true)
        #expect(process.isRunning)
        // The node serves anyway (it retries Redis), and says it is not ready.
        var status: Int?
        for _ in 0..<100 where status == nil {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/ready")!) {
                status = (response as? HTTPURLResponse)?.statusCode
            } else {
                try await Task.sleep(nanoseconds: 100_000_000)
            }
        }
        #expect(status == 503)
    }
}

/// What a child process wrote, collected from its pipe's reader thread.
private final class LogCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func append(_ chunk: Data) {
        lock.lock()
        data.append(chunk)
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}
