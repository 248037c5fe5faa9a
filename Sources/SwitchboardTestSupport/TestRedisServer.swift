import Foundation
import NIOCore
import NIOPosix
import RedisClient

/// A private redis-server process for tests that disturb Redis itself: killed,
/// shut down and started again on the same port and data folder. The one
/// redis-server launcher of the tests (`scripts/test` starts the shared one):
/// also over TLS only, as a replica, or as a sentinel.
public final class TestRedisServer: @unchecked Sendable {
    /// TLS on the TCP port (the unix socket stays plain, for the launcher's own checks).
    public struct TLS: Sendable {
        public var certificates: TestCertificates
        /// `tls-auth-clients`: "no", "optional" or "yes" (a client certificate signed by the CA required).
        public var authClients: String
        /// Serve the certificate for `redis.test` (no IP SAN) instead of the one for 127.0.0.1.
        public var namedCertificate: Bool

        public init(certificates: TestCertificates, authClients: String = "optional", namedCertificate: Bool = false) {
            self.certificates = certificates
            self.authClients = authClients
            self.namedCertificate = namedCertificate
        }
    }

    /// What the process is.
    public enum Role: Sendable {
        /// A master (or a lone server).
        case master
        /// A replica of the server on this loopback port.
        case replica(ofPort: Int)
        /// A sentinel monitoring the master on this loopback port under `name`.
        case sentinel(masterPort: Int, name: String, quorum: Int, downAfterMilliseconds: Int, failoverTimeoutMilliseconds: Int)
        /// A Redis Cluster node (`--cluster-enabled yes`), its cluster bus on `busPort`.
        case clusterNode(busPort: Int)
    }

    public private(set) var port: Int
    public let directory: String
    public let appendOnly: Bool
    public let tls: TLS?
    public let role: Role
    private var process: Process?
    private var everStarted = false
    /// Appended to the command line from the next start on, e.g. to start
    /// a killed master again as the replica of the one that replaced it.
    public var extraArguments: [String] = []

    /// `appendOnly`: AOF with fsync always, so a restart keeps every acknowledged write.
    /// `tls`: the TCP port speaks TLS only (`--port 0 --tls-port P`).
    public init(appendOnly: Bool = false, tls: TLS? = nil, role: Role = .master) throws {
        port = try LoopbackPort.free()
        self.appendOnly = appendOnly
        self.tls = tls
        self.role = role
        directory = NSTemporaryDirectory() + "sb-redis-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// `redis://127.0.0.1:P`, or `rediss://` with TLS.
    public var url: String { "\(tls == nil ? "redis" : "rediss")://127.0.0.1:\(port)" }
    /// `127.0.0.1:P`, as `--redis-sentinel` takes it.
    public var hostPort: String { "127.0.0.1:\(port)" }
    /// Its unix socket (also served, except by a sentinel).
    public var socketPath: String { directory + "/redis.sock" }

    private var arguments: [String] {
        var arguments: [String]
        if case .sentinel = role {
            arguments = [directory + "/sentinel.conf", "--sentinel"]
        } else {
            arguments = [
                "--bind", "127.0.0.1", "--save", "", "--dir", directory, "--logfile", directory + "/redis.log",
                "--unixsocket", socketPath, "--unixsocketperm", "700", "--enable-debug-command", "local",
            ]
            arguments += appendOnly ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]
        }
        if let tls {
            arguments += [
                "--port", "0", "--tls-port", "\(port)",
                "--tls-cert-file", tls.namedCertificate ? tls.certificates.namedServerCertificateFile : tls.certificates.serverCertificateFile,
                "--tls-key-file", tls.namedCertificate ? tls.certificates.namedServerKeyFile : tls.certificates.serverKeyFile,
                "--tls-ca-cert-file", tls.certificates.caFile,
                "--tls-auth-clients", tls.authClients,
                // Replicas (and sentinels) reach their master on its TLS port,
                // with the server certificate as their client certificate.
                "--tls-replication", "yes",
            ]
            // The cluster bus speaks TLS too, and CLUSTER SHARDS names the `tls-port`.
            if case .clusterNode = role { arguments += ["--tls-cluster", "yes"] }
        } else if case .sentinel = role {
            // The port is in sentinel.conf.
        } else {
            arguments += ["--port", "\(port)"]
        }
        if case .replica(let masterPort) = role { arguments += ["--replicaof", "127.0.0.1", "\(masterPort)"] }
        if case .clusterNode(let busPort) = role {
            arguments += [
                "--cluster-enabled", "yes", "--cluster-config-file", directory + "/nodes.conf", "--cluster-port", "\(busPort)",
                "--cluster-node-timeout", "2000", "--cluster-require-full-coverage", "no",
            ]
        }
        return arguments + extraArguments
    }

    /// A sentinel's config file: sentinels rewrite it as they learn, so it is a file of their own.
    private func writeSentinelConfiguration() throws {
        guard case .sentinel(let masterPort, let name, let quorum, let downAfter, let failoverTimeout) = role else { return }
        let path = directory + "/sentinel.conf"
        guard !FileManager.default.fileExists(atPath: path) else { return }
        let text = """
            port \(port)
            bind 127.0.0.1
            dir \(directory)
            logfile \(directory)/sentinel.log
            sentinel monitor \(name) 127.0.0.1 \(masterPort) \(quorum)
            sentinel down-after-milliseconds \(name) \(downAfter)
            sentinel failover-timeout \(name) \(failoverTimeout)
            sentinel parallel-syncs \(name) 1

            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Starts redis-server (again, on the same port and data folder, after a
    /// stop or kill) and waits for PONG. On a first start that fails at once
    /// (another process took the port), it tries another port.
    public func start() async throws {
        let attempts = everStarted ? 1 : 3
        for attempt in 0..<attempts {
            if attempt > 0 { port = try LoopbackPort.free() }
            try writeSentinelConfiguration()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: TestEnvironment.which("redis-server"))
            process.arguments = arguments
            try process.run()
            self.process = process
            for _ in 0..<400 {
                if (try? await answers()) == true {
                    everStarted = true
                    return
                }
                if !process.isRunning { break }
                try await Task.sleep(nanoseconds: 25_000_000)
            }
            kill()
        }
        let logFile = directory + (isSentinel ? "/sentinel.log" : "/redis.log")
        let log = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
        throw TestSupportError(
            "test redis-server did not start on \(port): \(log.split(separator: "\n").suffix(5).joined(separator: " | "))")
    }

    private var isSentinel: Bool {
        if case .sentinel = role { return true }
        return false
    }

    /// A connection for the launcher's own checks: the unix socket when the
    /// TCP port speaks TLS, else the port. A sentinel has no unix socket: over
    /// TLS it is reached on its port with the test CA and the client certificate.
    public func connect() async throws -> RedisConnection {
        guard let tls else { return try await Self.connect(port: port) }
        var configuration = RedisConfiguration()
        if isSentinel {
            configuration.address = .tcp(host: "127.0.0.1", port: port)
            configuration.tls = RedisTLSConfiguration(
                caFile: tls.certificates.caFile, serverName: tls.namedCertificate ? "redis.test" : nil,
                certificateFile: tls.certificates.clientCertificateFile, keyFile: tls.certificates.clientKeyFile)
        } else {
            configuration.address = .unix(path: socketPath)
        }
        return try await RedisConnection.connect(configuration: configuration, on: MultiThreadedEventLoopGroup.singleton.next()).get()
    }

    /// Sends one command on a connection of its own; Redis' error reply is thrown.
    @discardableResult
    public func command(_ name: String, _ arguments: any RedisArgumentConvertible...) async throws -> RedisValue {
        let connection = try await connect()
        defer { _ = connection.close() }
        return try await connection.send(RedisCommand(name, arguments)).get().throwingError()
    }

    /// Whether the server answers PONG.
    private func answers() async throws -> Bool {
        let connection = try await connect()
        defer { _ = connection.close() }
        return try await connection.send("PING").string == "PONG"
    }

    /// A clean shutdown: SHUTDOWN writes the AOF, then the process exits.
    public func stop() async {
        if let connection = try? await connect() {
            _ = try? await connection.send("SHUTDOWN")
            _ = try? await connection.close().get()
        }
        if let process { await OffPool.waitUntilExit(process) }
        process = nil
    }

    /// The last lines of its log (a sentinel's log for a sentinel), for the report of a failed test.
    public func logTail(_ lines: Int = 40) -> String {
        let file = directory + (isSentinel ? "/sentinel.log" : "/redis.log")
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// The redis-server's process id while it runs.
    public var processIdentifier: Int32? { process.map(\.processIdentifier) }

    /// Whether the process is running.
    public var isRunning: Bool { process?.isRunning ?? false }

    /// SIGKILL: Redis loses what it had not written.
    public func kill() {
        guard let process else { return }
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        self.process = nil
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func connect(port: Int) async throws -> RedisConnection {
        var configuration = RedisConfiguration()
        configuration.address = .tcp(host: "127.0.0.1", port: port)
        return try await RedisConnection.connect(configuration: configuration, on: MultiThreadedEventLoopGroup.singleton.next()).get()
    }

    /// Whether a redis-server answers PONG on the port.
    public static func ping(port: Int) async throws -> Bool {
        let connection = try await connect(port: port)
        defer { _ = connection.close() }
        return try await connection.send("PING").string == "PONG"
    }
}
