import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A process whose CPU (utime + stime) and RSS are sampled from /proc
/// (Linux; elsewhere every sample is nil).
struct ProcessWatch: Sendable {
    /// CPU ticks and resident memory of a process at one moment.
    struct Sample: Sendable {
        var cpuTicks: Int
        var rssKB: Int
    }

    var name: String
    var pid: Int32

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// `name=pid,...` (the `--pids` option).
    static func parse(_ text: String?) throws -> [ProcessWatch] {
        guard let text, !text.isEmpty else { return [] }
        return try text.split(separator: ",").map { part in
            let pieces = part.split(separator: "=")
            guard pieces.count == 2, let pid = Int32(pieces[1]) else { throw ValidationError("--pids takes name=pid,...") }
            return ProcessWatch(name: String(pieces[0]), pid: pid)
        }
    }

    func sample() -> Sample? { Self.sample(pid: pid) }

    static func selfSample() -> Sample? { sample(pid: getpid()) }

    static func sample(pid: Int32) -> Sample? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")"),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        else { return nil }
        // After "pid (comm)": state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        var rss = 0
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            rss = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
        }
        return Sample(cpuTicks: user + system, rssKB: rss)
    }

    /// Busy ticks of the whole machine (all cores) since boot:
    /// user + nice + system + irq + softirq + steal (all but idle and iowait).
    static func machineTicks() -> Int? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { Int($0) }
        guard fields.count >= 8 else { return nil }
        return fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
    }

    /// `machineTicks()` in CPU seconds.
    static func machineBusySeconds() -> Double? {
        machineTicks().map { Double($0) / ticksPerSecond }
    }
}
