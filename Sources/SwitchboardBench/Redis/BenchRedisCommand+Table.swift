import Foundation

/// The table printed at the end of a run.
extension BenchRedisCommand {
    func printTable(_ rows: [ResultRow], commands: [String], background: Double?) {
        print(
            "switchboard-bench redis: \(clients) callers, \(requests) requests per test, \(threads) event-loop thread(s), "
                + "medians of \(rounds) round(s)")
        for command in commands { print("  " + command) }
        if let background {
            print(
                String(
                    format: "other processes used %.2f of %d cores on average during the run", background,
                    ProcessInfo.processInfo.activeProcessorCount))
        }
        print("")
        let header = [
            "test", "mode", "conns", "callers", "switchboard req/s", "redis-benchmark req/s", "ratio",
            "CPU µs/req sb / rb", "server µs/req sb / rb",
        ]
        var table = [header]
        for row in rows {
            table.append([
                row.test, row.pipeline == 1 ? "no pipelining" : "pipeline \(row.pipeline)", String(row.connections),
                row.callers, Self.grouped(row.switchboardRPS), Self.grouped(row.redisBenchmarkRPS),
                String(format: "%.0f %%", row.ratio * 100),
                String(format: "%.2f / %.2f", row.switchboardCPUMicros, row.redisBenchmarkCPUMicros),
                String(format: "%.2f / %.2f", row.serverCPUMicrosSwitchboard, row.serverCPUMicrosRedisBenchmark),
            ])
        }
        let widths = header.indices.map { column in table.map { $0[column].count }.max()! }
        for (index, line) in table.enumerated() {
            print("| " + zip(line, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: " | ") + " |")
            if index == 0 { print("|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|") }
        }
    }

    static func grouped(_ value: Double) -> String {
        let digits = String(Int(value))
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return out
    }

    static func micros(_ seconds: Double) -> Double { (seconds * 1e8).rounded() / 100 }
}
