import Foundation
import RedisClient

/// Running redis-benchmark and reading its output.
extension BenchRedisCommand {
    func redisBenchmarkArguments(_ configuration: RedisConfiguration, depth: Int) -> [String] {
        var arguments: [String] = []
        switch configuration.address {
        case .tcp(let host, let port): arguments += ["-h", host, "-p", String(port)]
        case .unix(let path): arguments += ["-s", path]
        }
        if let password = configuration.password {
            arguments += ["-a", password]
            if let username = configuration.username { arguments += ["--user", username] }
        }
        if configuration.database != 0 { arguments += ["--dbnum", String(configuration.database)] }
        arguments += ["-c", String(clients), "-n", String(requests), "-t", "ping,set", "-d", "100", "-q"]
        if depth > 1 { arguments += ["-P", String(depth)] }
        return arguments
    }

    /// Runs redis-benchmark; its requests/s per test and the CPU seconds it used.
    func runRedisBenchmark(_ path: String, _ arguments: [String]) throws -> ([String: Double], Double) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let before = ResourceUsage.childrenCPU()
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let cpu = ResourceUsage.childrenCPU() - before
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw BenchError("redis-benchmark exited with \(process.terminationStatus): \(text)")
        }
        return (Self.parseRedisBenchmark(text), cpu)
    }

    /// Final lines of `-q` output, e.g. `SET: 81234.56 requests per second, p50=0.303 msec`;
    /// progress lines (`SET: rps=...`) are separated by carriage returns.
    static func parseRedisBenchmark(_ text: String) -> [String: Double] {
        var results: [String: Double] = [:]
        for line in text.split(whereSeparator: { $0 == "\r" || $0 == "\n" }) {
            guard line.contains("requests per second"), let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let number = line[line.index(after: colon)...].drop(while: { $0 == " " }).prefix(while: { $0.isNumber || $0 == "." })
            if let value = Double(number) { results[name] = value }
        }
        return results
    }

    static func findOnPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

}
