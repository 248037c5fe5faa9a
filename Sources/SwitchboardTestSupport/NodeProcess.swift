import Foundation
import SwitchboardCore

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A `switchboard serve` process (the binary scripts/test builds), for tests that kill a node.
public final class NodeProcess: @unchecked Sendable {
    public let port: Int
    public let process: Process

    /// The debug binary `scripts/test` builds.
    public static var binary: String { TestEnvironment.packageRoot.appendingPathComponent(".build/debug/switchboard").path }

    public init(configuration: SwitchboardConfiguration, arguments: [String] = []) async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw TestSupportError("\(Self.binary) is missing: run `swift build --product switchboard` (scripts/test does)")
        }
        port = try LoopbackPort.free()
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments =
            [
                "serve", "--port", "\(port)", "--redis-url", configuration.redisURL ?? "", "--prefix", configuration.prefix,
                "--node-id", configuration.nodeID, "--presence-ttl", "\(configuration.live.presenceTTL)",
                "--log-level", "warning",
            ] + (configuration.redisClusterMode ? ["--redis-cluster-mode", "on"] : [])
            + (configuration.redisClusterSeeds.isEmpty || arguments.contains("--redis-cluster")
                ? [] : ["--redis-cluster", configuration.redisClusterSeeds.joined(separator: ",")])
            + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<200 {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/ready")!),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                return
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw TestSupportError("node process did not become ready")
    }

    public func kill(_ signal: Int32) {
        Foundation.kill(process.processIdentifier, signal)
    }

    /// Waits until the process exited (off the cooperative pool: a node
    /// draining its connections takes a while).
    public func wait() async { await OffPool.waitUntilExit(process) }

    deinit {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
