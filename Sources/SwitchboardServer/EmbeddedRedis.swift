import Foundation
import Logging
import NIOCore
import NIOPosix
import RedisClient
import ServiceLifecycle

/// A private `redis-server` child for `serve` without a configured Redis:
/// a free loopback port, data under `./.switchboard/` with AOF on, stopped
/// when the node stops.
public final class EmbeddedRedis: Service, @unchecked Sendable {
    public let directory: String
    public private(set) var port: Int = 0
    private var pid: pid_t?
    private let logger: Logger

    public init(directory: String = ".switchboard", logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    /// The URL of the running server.
    public var url: String { "redis://127.0.0.1:\(port)" }

    /// Where `redis-server` is, or nil.
    static func locate() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin", "/usr/local/bin"] {
            let candidate = directory + "/redis-server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Starts the server and waits until it answers PING.
    public func start() async throws {
        guard let executable = Self.locate() else {
            throw RedisError(
                code: .connectionFailed,
                message: "no Redis URL configured and redis-server is not installed: "
                    + "install it with `apt-get install redis-server` or pass --redis-url")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        var configuration = RedisConfiguration()
        // Up to three ports: a server that exits at once lost its port to
        // another process between `freePort` and its own bind.
        for _ in 0..<3 {
            port = try Self.freePort()
            let pid = try Self.spawn(
                executable,
                arguments: [
                    "--port", "\(port)", "--bind", "127.0.0.1", "--dir", absolute, "--appendonly", "yes",
                    "--save", "", "--logfile", absolute + "/redis.log", "--daemonize", "no",
                ])
            self.pid = pid
            configuration.address = .tcp(host: "127.0.0.1", port: port)
            for _ in 0..<200 {
                if let connection = try? await RedisConnection.connect(
                    configuration: configuration, on: MultiThreadedEventLoopGroup.singleton.next()
                ).get() {
                    let reply = try? await connection.send(RedisCommand("PING")).get()
                    _ = try? await connection.close().get()
                    if reply == .status("PONG") {
                        logger.notice(
                            "no Redis URL configured: started an embedded redis-server",
                            metadata: ["url": "\(url)", "data": "\(absolute)", "pid": "\(pid)"])
                        return
                    }
                }
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid {
                    self.pid = nil
                    break
                }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            stop()
        }
        throw RedisError(code: .connectionFailed, message: "the embedded redis-server did not start; see \(absolute)/redis.log")
    }

    /// Stops the server (SIGTERM: it finishes its AOF) and reaps it.
    public func stop() {
        guard let pid else { return }
        self.pid = nil
        kill(pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<200 {
            if waitpid(pid, &status, WNOHANG) == pid { break }
            usleep(25_000)
            if kill(pid, 0) != 0 { break }
        }
        if kill(pid, 0) == 0 {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
        }
        logger.notice("embedded redis-server stopped")
    }

    /// Spawns a child with a clean signal mask. (Threads of this process block
    /// signals, and a child inherits the mask: a redis-server started with
    /// Foundation's `Process` from such a thread ignores SIGTERM.)
    static func spawn(_ executable: String, arguments: [String]) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, nil, &attributes, argv, environ)
        guard status == 0 else {
            throw RedisError(code: .connectionFailed, message: "cannot start \(executable): errno \(status)")
        }
        return pid
    }

    /// Waits for graceful shutdown, then stops the server. Listed first in the
    /// service group, it stops last.
    public func run() async throws {
        try? await gracefulShutdown()
        stop()
    }

    deinit { stop() }

    /// A free loopback port below the kernel's ephemeral range (32768–60999 by
    /// default), so that no outgoing connection takes it before redis binds it.
    /// (The tests start their servers on ports from here too.)
    public static func freePort() throws -> Int {
        for _ in 0..<200 {
            let candidate = Int.random(in: 20_000..<32_000)
            if let channel = try? ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: candidate).wait()
            {
                try? channel.close().wait()
                return candidate
            }
        }
        throw RedisError(code: .connectionFailed, message: "no free loopback port in 20000–32000 for the embedded redis-server")
    }
}
