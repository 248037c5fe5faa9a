import Foundation
import NIOCore
import NIOPosix
import RedisClient
import SwitchboardCore
import SwitchboardServer

/// A private redis-server process for tests that disturb Redis itself:
/// killed, stopped and started again on the same port and data folder.
final class TestRedisServer: @unchecked Sendable {
    private(set) var port: Int
    let directory: String
    let appendOnly: Bool
    private var process: Process?
    private var everStarted = false

    init(appendOnly: Bool = false) throws {
        port = try Self.freePort()
        self.appendOnly = appendOnly
        directory = NSTemporaryDirectory() + "sb-redis-\(RandomID.make(length: 8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    var url: String { "redis://127.0.0.1:\(port)" }

    /// A free loopback port below the kernel's ephemeral range (as the embedded Redis picks one).
    static func freePort() throws -> Int { try EmbeddedRedis.freePort() }

    /// Starts redis-server (again, on the same port and data folder, after a
    /// stop) and waits for PONG. On a first start that fails at once (another
    /// process took the port), it tries another port.
    func start() async throws {
        let attempts = everStarted ? 1 : 3
        for attempt in 0..<attempts {
            if attempt > 0 { port = try Self.freePort() }
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
                if (try? await redis.send("PING")) == .status("PONG") {
                    everStarted = true
                    return
                }
                if !process.isRunning { break }
                try await Task.sleep(nanoseconds: 25_000_000)
            }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            self.process = nil
        }
        let log = (try? String(contentsOfFile: directory + "/redis.log", encoding: .utf8)) ?? ""
        throw SwitchboardError(
            .unavailable,
            "test redis-server did not start on \(port): \(log.split(separator: "\n").suffix(5).joined(separator: " | "))")
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
