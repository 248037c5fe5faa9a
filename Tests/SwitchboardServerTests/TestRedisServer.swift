import Foundation
import NIOCore
import NIOPosix
import RedisClient
import SwitchboardCore

/// A private redis-server process for tests that disturb Redis itself:
/// killed, stopped and started again on the same port and data folder.
final class TestRedisServer: @unchecked Sendable {
    let port: Int
    let directory: String
    let appendOnly: Bool
    private var process: Process?

    init(appendOnly: Bool = false) throws {
        port = try Self.freePort()
        self.appendOnly = appendOnly
        directory = NSTemporaryDirectory() + "sb-redis-\(RandomID.make(length: 8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    var url: String { "redis://127.0.0.1:\(port)" }

    /// A free loopback port (bound once to port 0, then released).
    static func freePort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? channel.close().wait() }
        return channel.localAddress!.port!
    }

    func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        process.arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--dir", directory,
            "--logfile", directory + "/redis.log",
        ] + (appendOnly ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"])
        try process.run()
        self.process = process
        let redis = RedisClient(configuration: try RedisConfiguration(url: url))
        defer { Task { await redis.shutdown() } }
        for _ in 0..<400 {
            if (try? await redis.send("PING")) == .status("PONG") { return }
            try await Task.sleep(nanoseconds: 25_000_000)
        }
        throw SwitchboardError(.unavailable, "test redis-server did not start")
    }

    /// A clean shutdown: SHUTDOWN writes the AOF, then the process exits.
    func stop() async {
        let redis = RedisClient(configuration: (try? RedisConfiguration(url: url)) ?? RedisConfiguration())
        _ = try? await redis.send("SHUTDOWN")
        await redis.shutdown()
        process?.waitUntilExit()
        process = nil
    }

    deinit {
        if let process, process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
