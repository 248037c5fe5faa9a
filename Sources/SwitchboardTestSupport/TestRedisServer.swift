import Foundation
import NIOCore
import NIOPosix
import RedisClient

/// A private redis-server process for tests that disturb Redis itself: killed,
/// shut down and started again on the same port and data folder. The one
/// redis-server launcher of the tests (`scripts/test` starts the shared one).
public final class TestRedisServer: @unchecked Sendable {
    public private(set) var port: Int
    public let directory: String
    public let appendOnly: Bool
    private var process: Process?
    private var everStarted = false

    /// `appendOnly`: AOF with fsync always, so a restart keeps every acknowledged write.
    public init(appendOnly: Bool = false) throws {
        port = try LoopbackPort.free()
        self.appendOnly = appendOnly
        directory = NSTemporaryDirectory() + "sb-redis-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    public var url: String { "redis://127.0.0.1:\(port)" }
    /// Its unix socket (also served).
    public var socketPath: String { directory + "/redis.sock" }

    /// Starts redis-server (again, on the same port and data folder, after a
    /// stop or kill) and waits for PONG. On a first start that fails at once
    /// (another process took the port), it tries another port.
    public func start() async throws {
        let attempts = everStarted ? 1 : 3
        for attempt in 0..<attempts {
            if attempt > 0 { port = try LoopbackPort.free() }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: TestEnvironment.which("redis-server"))
            process.arguments =
                [
                    "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--dir", directory,
                    "--logfile", directory + "/redis.log", "--unixsocket", socketPath, "--unixsocketperm", "700",
                    "--enable-debug-command", "local",
                ] + (appendOnly ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"])
            try process.run()
            self.process = process
            for _ in 0..<400 {
                if (try? await Self.ping(port: port)) == true {
                    everStarted = true
                    return
                }
                if !process.isRunning { break }
                try await Task.sleep(nanoseconds: 25_000_000)
            }
            kill()
        }
        let log = (try? String(contentsOfFile: directory + "/redis.log", encoding: .utf8)) ?? ""
        throw TestSupportError(
            "test redis-server did not start on \(port): \(log.split(separator: "\n").suffix(5).joined(separator: " | "))")
    }

    /// A clean shutdown: SHUTDOWN writes the AOF, then the process exits.
    public func stop() async {
        if let connection = try? await Self.connect(port: port) {
            _ = try? await connection.send("SHUTDOWN")
            _ = try? await connection.close().get()
        }
        process?.waitUntilExit()
        process = nil
    }

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
