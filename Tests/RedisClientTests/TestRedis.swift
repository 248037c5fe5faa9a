import Foundation
import NIOCore
import NIOPosix
import RedisClient
import Testing

/// The shared test server (`REDIS_URL`, set by scripts/test) and helpers.
enum TestRedis {
    static var url: String {
        ProcessInfo.processInfo.environment["REDIS_URL"]
            ?? ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_REDIS_URL"]
            ?? "redis://127.0.0.1:6379"
    }

    static func configuration() throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: url)
        configuration.requestTimeout = .seconds(10)
        return configuration
    }

    static func client(poolSize: Int = 2) throws -> RedisClient {
        var configuration = try configuration()
        configuration.poolSize = poolSize
        return RedisClient(configuration: configuration)
    }

    /// A key prefix no other test uses.
    static func prefix(_ name: String = #function) -> String {
        "test:\(UUID().uuidString.prefix(8)):"
    }
}

/// A private redis-server process for tests that kill and restart Redis.
final class RedisServerProcess: @unchecked Sendable {
    private(set) var port: Int
    let directory: String
    private var process: Process?

    init() throws {
        port = try Self.freePort()
        directory = NSTemporaryDirectory() + "sb-redis-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    var url: String { "redis://127.0.0.1:\(port)" }
    var socketPath: String { directory + "/redis.sock" }

    /// Starts redis-server and waits for PONG. When it exits at once (another
    /// process took the port between the check and its bind), it tries again
    /// on another port.
    func start() async throws {
        for attempt in 0..<3 {
            if attempt > 0 { port = try Self.freePort() }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.which("redis-server"))
            process.arguments = [
                "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", directory, "--logfile", directory + "/redis.log",
                "--unixsocket", socketPath, "--unixsocketperm", "700", "--enable-debug-command", "local",
            ]
            try process.run()
            self.process = process
            for _ in 0..<400 {
                if (try? await Self.ping(port: port)) == true { return }
                if !process.isRunning { break }
                try await Task.sleep(nanoseconds: 25_000_000)
            }
            kill()
        }
        let log = (try? String(contentsOfFile: directory + "/redis.log", encoding: .utf8)) ?? ""
        throw RedisError(
            code: .connectionFailed,
            message: "test redis-server did not start on \(port): \(log.split(separator: "\n").suffix(5).joined(separator: " | "))")
    }

    func kill() {
        guard let process else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func ping(port: Int) async throws -> Bool {
        var configuration = RedisConfiguration()
        configuration.address = .tcp(host: "127.0.0.1", port: port)
        let connection = try await RedisConnection.connect(
            configuration: configuration, on: MultiThreadedEventLoopGroup.singleton.next()
        ).get()
        defer { _ = connection.close() }
        return try await connection.send("PING").string == "PONG"
    }

    /// A free loopback port below the kernel's ephemeral range (32768–60999 by
    /// default), so that no outgoing connection of a test running beside this
    /// one takes it between this check and the server's own bind.
    static func freePort() throws -> Int {
        for _ in 0..<200 {
            let candidate = Int.random(in: 20_000..<32_000)
            if let channel = try? ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: candidate).wait()
            {
                try? channel.close().wait()
                return candidate
            }
        }
        throw RedisError(code: .connectionFailed, message: "no free loopback port in 20000–32000")
    }

    static func which(_ name: String) -> String {
        for directory in ["/usr/bin", "/usr/local/bin", "/usr/sbin", "/bin"] {
            let path = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return name
    }
}
