import Foundation

/// haproxy in front of node processes, round robin, health checks on /ready.
public final class LoadBalancer: @unchecked Sendable {
    public let port: Int
    private let process: Process
    private let directory: String

    public init(backends: [Int]) throws {
        port = try LoopbackPort.free()
        directory = NSTemporaryDirectory() + "sb-lb-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var config = """
            defaults
                mode http
                timeout connect 2s
                timeout client 60s
                timeout server 60s
                timeout tunnel 1h
            frontend switchboard
                bind 127.0.0.1:\(port)
                default_backend nodes
            backend nodes
                balance roundrobin
                option httpchk GET /ready
                default-server inter 300ms fall 1 rise 1

            """
        for (index, backend) in backends.enumerated() {
            config += "    server node\(index) 127.0.0.1:\(backend) check\n"
        }
        try config.write(toFile: directory + "/haproxy.cfg", atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: TestEnvironment.which("haproxy"))
        process.arguments = ["-f", directory + "/haproxy.cfg", "-db"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
