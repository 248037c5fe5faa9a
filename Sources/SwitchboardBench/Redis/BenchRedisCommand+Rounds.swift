import Foundation
import NIOCore
import RedisClient

/// The rounds: redis-benchmark, then our client, for each mode; the table
/// or JSON lines at the end.
extension BenchRedisCommand {
    func runRounds(
        tests: [BenchTest], modes: [Int], base: RedisConfiguration, benchmarkPath: String,
        group: any EventLoopGroup, pools: [Int: RedisClient]
    ) async throws {
        let infoClient = pools[connections[0]]!
        let start = ContinuousClock.now
        let busyBefore = ProcessWatch.machineBusySeconds()
        let ownBefore = ResourceUsage.processCPU() + ResourceUsage.childrenCPU()
        let serverBefore = try await serverCPU(infoClient)

        var ours: [OurKey: [ThroughputSample]] = [:]
        var theirs: [TheirKey: [ThroughputSample]] = [:]
        var redisBenchmarkCommands: [String] = []
        for depth in modes {
            for round in 1...rounds {
                let arguments = redisBenchmarkArguments(base, depth: depth)
                // Shown without the password.
                let words = ["redis-benchmark"] + arguments
                let shown = words.indices.map { index in
                    index > 0 && words[index - 1] == "-a" ? "***" : words[index]
                }.joined(separator: " ")
                if round == 1 { redisBenchmarkCommands.append(shown) }
                printError("\(shown)  (round \(round)/\(rounds))")
                let serverBefore = try await serverCPU(infoClient)
                let (results, cpu) = try runRedisBenchmark(benchmarkPath, arguments)
                let serverSpent = try await serverCPU(infoClient) - serverBefore
                // One redis-benchmark process runs PING_INLINE, PING_MBULK and
                // SET: its CPU (and the server's) is averaged over all three.
                let executed = Double(requests * results.count)
                for test in tests {
                    guard let rps = results[test.redisBenchmarkName] else {
                        throw BenchError("redis-benchmark printed no \(test.redisBenchmarkName) result")
                    }
                    theirs[TheirKey(test: test.name, depth: depth), default: []].append(
                        ThroughputSample(rps: rps, clientCPU: cpu / executed, serverCPU: serverSpent / executed))
                }
                for size in connections {
                    for style in callers where Self.applies(style, depth: depth) {
                        for test in tests {
                            let sample = try await measure(
                                client: pools[size]!, group: group, test: test, depth: depth, style: style,
                                total: requests, infoClient: infoClient)
                            printError(
                                "  switchboard \(test.name) P=\(depth) connections=\(size) callers=\(style.rawValue): "
                                    + "\(Int(sample.rps)) req/s")
                            ours[OurKey(test: test.name, depth: depth, connections: size, style: style), default: []]
                                .append(sample)
                        }
                    }
                }
            }
        }
        // CPU that neither this process, redis-benchmark nor redis-server
        // used during the run: other load on the machine, in cores.
        var background: Double?
        if let busyBefore, let busyAfter = ProcessWatch.machineBusySeconds() {
            let elapsed = seconds(start.duration(to: .now))
            let own = ResourceUsage.processCPU() + ResourceUsage.childrenCPU() - ownBefore
            let server = try await serverCPU(infoClient) - serverBefore
            background = max(0, (busyAfter - busyBefore - own - server) / elapsed)
        }

        var rows: [ResultRow] = []
        for depth in modes {
            for size in connections {
                for style in callers where Self.applies(style, depth: depth) {
                    for test in tests {
                        let mineSamples = ours[OurKey(test: test.name, depth: depth, connections: size, style: style)]!
                        let otherSamples = theirs[TheirKey(test: test.name, depth: depth)]!
                        let mine = ThroughputSample.median(mineSamples)
                        let other = ThroughputSample.median(otherSamples)
                        // Each round's ratio pairs runs made seconds apart, so
                        // load from elsewhere on the machine mostly cancels out.
                        let ratios = zip(mineSamples, otherSamples).map { $0.rps / $1.rps }.sorted()
                        rows.append(
                            ResultRow(
                                test: test.name, pipeline: depth, clients: clients, requests: requests,
                                connections: size, threads: threads, callers: style.rawValue, rounds: rounds,
                                switchboardRPS: mine.rps.rounded(), redisBenchmarkRPS: other.rps.rounded(),
                                ratio: (ratios[ratios.count / 2] * 1000).rounded() / 1000,
                                switchboardCPUMicros: Self.micros(mine.clientCPU),
                                redisBenchmarkCPUMicros: Self.micros(other.clientCPU),
                                serverCPUMicrosSwitchboard: Self.micros(mine.serverCPU),
                                serverCPUMicrosRedisBenchmark: Self.micros(other.serverCPU),
                                backgroundCores: background.map { ($0 * 100).rounded() / 100 }))
                    }
                }
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for row in rows { print(String(decoding: try encoder.encode(row), as: UTF8.self)) }
        } else {
            printTable(rows, commands: redisBenchmarkCommands, background: background)
        }
    }

    /// Batches of one are plain requests with extra work: batch runs pipelined only.
    static func applies(_ style: CallerStyle, depth: Int) -> Bool {
        style != .batch || depth > 1
    }
}

/// Our client's results of one test, mode, pool size and caller style.
private struct OurKey: Hashable {
    var test: String
    var depth: Int
    var connections: Int
    var style: BenchRedisCommand.CallerStyle
}

/// redis-benchmark's results of one test and mode.
private struct TheirKey: Hashable {
    var test: String
    var depth: Int
}
