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
    let port: Int
    let directory: String
    private var process: Process?

    init() throws {
        port = try Self.freePort()
        directory = NSTemporaryDirectory() + "sb-redis-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    var url: String { "redis://127.0.0.1:\(port)" }
    var socketPath: String { directory + "/redis.sock" }

    func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.which("redis-server"))
        process.arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", directory, "--logfile", directory + "/redis.log",
            "--unixsocket", socketPath, "--unixsocketperm", "700", "--enable-debug-command", "local",
        ]
        try process.run()
        self.process = process
        for _ in 0..<200 {
            if (try? await Self.ping(port: port)) == true { return }
            try await Task.sleep(nanoseconds: 25_000_000)
        }
        throw RedisError(code: .connectionFailed, message: "test redis-server did not start on \(port)")
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

    static func freePort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? channel.close().wait() }
        return channel.localAddress!.port!
    }

    static func which(_ name: String) -> String {
        for directory in ["/usr/bin", "/usr/local/bin", "/usr/sbin", "/bin"] {
            let path = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return name
    }
}
