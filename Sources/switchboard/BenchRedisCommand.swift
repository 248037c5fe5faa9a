import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import RedisClient
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `switchboard bench redis`: our Redis client against `redis-benchmark` on
/// the same server, in one run (see BENCHMARKS.md).
///
/// For each mode (no pipelining, then `--pipeline` requests in flight per
/// caller) and each round it runs `redis-benchmark -t ping,set -d 100 -q`
/// (with `-P` when pipelined), then the same load through `RedisClient`:
/// `--clients` callers sharing `--requests` requests of PING, then of SET with
/// a 100-byte value on one key, as redis-benchmark does without `-r`. It
/// prints the median of the rounds with the CPU time each client spent and
/// what the server spent (from `INFO cpu`) per request.
struct BenchRedisCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis",
        abstract: "Compare the Redis client with redis-benchmark (PING, 100-byte SET; pipelined and not).")

    @Option(help: "Redis URL (env SWITCHBOARD_REDIS_URL).")
    var redisURL: String = env("SWITCHBOARD_REDIS_URL") ?? "redis://127.0.0.1:6379"

    @Option(help: "Concurrent callers (redis-benchmark -c).")
    var clients: Int = 50

    @Option(help: "Requests per test (redis-benchmark -n).")
    var requests: Int = 200_000

    @Option(help: "Requests in flight per caller in the pipelined mode (redis-benchmark -P).")
    var pipeline: Int = 16

    @Option(
        help: "Pool sizes of our client to measure, comma separated, e.g. 1,50 (default: 1; redis-benchmark opens one connection per client).",
        transform: { text in
            try text.split(separator: ",").map { part in
                guard let value = Int(part.trimmingCharacters(in: .whitespaces)), value > 0 else {
                    throw ValidationError("--connections takes positive integers, e.g. 1,50")
                }
                return value
            }
        })
    var connections: [Int] = [1]

    @Option(help: "Event-loop threads of our client; its connections are spread over them (redis-benchmark runs on one thread).")
    var threads: Int = 1

    @Option(
        help: ArgumentHelp(
            "How our callers keep requests in flight, comma separated: futures (send per request, callbacks on the event loop), batch (client.pipeline of --pipeline commands, like redis-benchmark -P) or async (one Swift task per caller awaiting each reply); default: futures.",
            valueName: "futures|batch|async"),
        transform: { text in
            try text.split(separator: ",").map { part in
                guard let style = CallerStyle(rawValue: part.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--callers takes futures, batch and/or async")
                }
                return style
            }
        })
    var callers: [CallerStyle] = [.futures]

    @Option(help: "Rounds of every measurement; the table shows medians (the ratio is the median of each round's ratio).")
    var rounds: Int = 1

    @Option(help: "Path of redis-benchmark (default: found on PATH).")
    var redisBenchmark: String?

    @Flag(help: "Print one JSON object per result line instead of the table.")
    var json = false

    /// How a caller keeps its requests in flight.
    enum CallerStyle: String, Sendable, CaseIterable, ExpressibleByArgument {
        /// `client.send` per request; each reply's callback sends the next
        /// (a sliding window of `depth` requests).
        case futures
        /// `client.pipeline` of `depth` commands; the next batch goes when all
        /// replies are in, as redis-benchmark -P does.
        case batch
        /// One Swift task per caller awaiting `client.send(...).get()` in order.
        case async
    }

    func validate() throws {
        guard clients > 0, requests > 0, pipeline > 0, rounds > 0, threads > 0 else {
            throw ValidationError("--clients, --requests, --pipeline, --rounds and --threads must be positive")
        }
        guard !connections.isEmpty, !callers.isEmpty else {
            throw ValidationError("--connections and --callers need at least one value")
        }
    }

    func run() async throws {
        let base = try RedisConfiguration(url: redisURL)
        guard let benchmarkPath = redisBenchmark ?? Self.findOnPath("redis-benchmark") else {
            throw ValidationError("redis-benchmark not found on PATH; pass --redis-benchmark PATH")
        }
        let tests = [
            BenchTest(name: "PING", redisBenchmarkName: "PING_MBULK", command: RedisCommand("PING"), expected: .status("PONG")),
            BenchTest(
                name: "SET", redisBenchmarkName: "SET",
                command: RedisCommand("SET", ["key:__rand_int__", [UInt8](repeating: UInt8(ascii: "x"), count: 100)]),
                expected: .status("OK")),
        ]
        let modes = [1, pipeline].reduce(into: [Int]()) { if !$0.contains($1) { $0.append($1) } }

        // One pool per size, reused across rounds; redis-benchmark keeps its
        // connections through a run too.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        var pools: [Int: RedisClient] = [:]
        for size in connections {
            var configuration = base
            configuration.poolSize = size
            configuration.clientName = "switchboard-bench"
            let client = RedisClient(configuration: configuration, eventLoopGroup: group)
            pools[size] = client
            // Opens every connection of the pool and warms up the code paths.
            _ = try await measure(
                client: client, group: group, test: tests[0], depth: pipeline, style: .futures,
                total: min(requests, 20_000) + size * clients)
        }
        do {
            try await runRounds(tests: tests, modes: modes, base: base, benchmarkPath: benchmarkPath, group: group, pools: pools)
        } catch {
            for client in pools.values { await client.shutdown() }
            try? await group.shutdownGracefully()
            throw error
        }
        for client in pools.values { await client.shutdown() }
        try await group.shutdownGracefully()
    }

    private func runRounds(
        tests: [BenchTest], modes: [Int], base: RedisConfiguration, benchmarkPath: String,
        group: any EventLoopGroup, pools: [Int: RedisClient]
    ) async throws {
        let infoClient = pools[connections[0]]!
        let start = ContinuousClock.now
        let busyBefore = Self.systemBusySeconds()
        let ownBefore = Self.processCPU() + Self.childrenCPU()
        let serverBefore = try await serverCPU(infoClient)

        var ours: [OurKey: [Sample]] = [:]
        var theirs: [TheirKey: [Sample]] = [:]
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
                progress("\(shown)  (round \(round)/\(rounds))")
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
                        Sample(rps: rps, clientCPU: cpu / executed, serverCPU: serverSpent / executed))
                }
                for size in connections {
                    for style in callers where Self.applies(style, depth: depth) {
                        for test in tests {
                            let sample = try await measure(
                                client: pools[size]!, group: group, test: test, depth: depth, style: style,
                                total: requests, infoClient: infoClient)
                            progress(
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
        if let busyBefore, let busyAfter = Self.systemBusySeconds() {
            let elapsed = start.duration(to: .now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            let own = Self.processCPU() + Self.childrenCPU() - ownBefore
            let server = try await serverCPU(infoClient) - serverBefore
            background = max(0, (busyAfter - busyBefore - own - server) / seconds)
        }

        var rows: [ResultRow] = []
        for depth in modes {
            for size in connections {
                for style in callers where Self.applies(style, depth: depth) {
                    for test in tests {
                        let mineSamples = ours[OurKey(test: test.name, depth: depth, connections: size, style: style)]!
                        let otherSamples = theirs[TheirKey(test: test.name, depth: depth)]!
                        let mine = Sample.median(mineSamples)
                        let other = Sample.median(otherSamples)
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

    // MARK: - Our client

    /// Batches of one are plain requests with extra work: batch runs pipelined only.
    private static func applies(_ style: CallerStyle, depth: Int) -> Bool {
        style != .batch || depth > 1
    }

    /// Runs `total` requests of `test` through `client` from `clients`
    /// callers, each keeping `depth` requests in flight.
    private func measure(
        client: RedisClient, group: any EventLoopGroup, test: BenchTest, depth: Int, style: CallerStyle, total: Int,
        infoClient: RedisClient? = nil
    ) async throws -> Sample {
        var serverBefore = 0.0
        if let infoClient { serverBefore = try await serverCPU(infoClient) }
        let cpuBefore = Self.processCPU()
        let start = ContinuousClock.now
        switch style {
        case .futures:
            let run = FutureRun(client: client, group: group, test: test, total: total, batch: depth)
            for _ in 0..<clients { for _ in 0..<depth { run.next() } }
            try await run.done.futureResult.get()
        case .batch:
            let run = FutureRun(client: client, group: group, test: test, total: total, batch: depth)
            for _ in 0..<clients { run.nextBatch() }
            try await run.done.futureResult.get()
        case .async:
            let issued = Counter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<clients {
                    group.addTask {
                        try await Self.asyncCaller(client: client, test: test, depth: depth, total: total, issued: issued)
                    }
                }
                try await group.waitForAll()
            }
        }
        let elapsed = start.duration(to: .now)
        let cpu = Self.processCPU() - cpuBefore
        var serverSpent = 0.0
        if let infoClient { serverSpent = try await serverCPU(infoClient) - serverBefore }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return Sample(rps: Double(total) / seconds, clientCPU: cpu / Double(total), serverCPU: serverSpent / Double(total))
    }

    /// One caller as a Swift task: sends, then awaits replies in order,
    /// topping its window up to `depth` after each.
    private static func asyncCaller(
        client: RedisClient, test: BenchTest, depth: Int, total: Int, issued: Counter
    ) async throws {
        var window: [EventLoopFuture<RedisValue>] = []
        window.reserveCapacity(depth)
        var head = 0
        func issue() -> Bool {
            guard issued.value.wrappingAdd(1, ordering: .relaxed).oldValue < total else { return false }
            window.append(client.send(test.command))
            return true
        }
        for _ in 0..<depth {
            if !issue() { break }
        }
        while head < window.count {
            let reply = try await window[head].get()
            head += 1
            guard reply == test.expected else { throw BenchError("\(test.name) answered \(reply)") }
            if head == window.count { window.removeAll(keepingCapacity: true); head = 0 }
            _ = issue()
        }
    }

    /// Server CPU seconds (user + sys) from `INFO cpu`.
    private func serverCPU(_ client: RedisClient) async throws -> Double {
        let info = try await client.send("INFO", "cpu").string ?? ""
        var total = 0.0
        for line in info.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0] == "used_cpu_sys" || parts[0] == "used_cpu_user" {
                total += Double(parts[1].trimmingCharacters(in: .whitespaces)) ?? 0
            }
        }
        return total
    }

    // MARK: - redis-benchmark

    private func redisBenchmarkArguments(_ configuration: RedisConfiguration, depth: Int) -> [String] {
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
    private func runRedisBenchmark(_ path: String, _ arguments: [String]) throws -> ([String: Double], Double) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let before = Self.childrenCPU()
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let cpu = Self.childrenCPU() - before
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

    // MARK: - Output

    private func printTable(_ rows: [ResultRow], commands: [String], background: Double?) {
        print(
            "switchboard bench redis: \(clients) callers, \(requests) requests per test, \(threads) event-loop thread(s), "
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

    private static func grouped(_ value: Double) -> String {
        let digits = String(Int(value))
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return out
    }

    private static func micros(_ seconds: Double) -> Double { (seconds * 1e8).rounded() / 100 }

    private func progress(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    // MARK: - Helpers

    static func findOnPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// CPU seconds all processors spent busy since boot (Linux /proc/stat), nil elsewhere.
    private static func systemBusySeconds() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 8 else { return nil }
        // user nice system idle iowait irq softirq steal: all but idle and iowait.
        let busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
        return busy / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    private static func processCPU() -> Double { cpuSeconds(__rusage_who_t(RUSAGE_SELF.rawValue)) }
    private static func childrenCPU() -> Double { cpuSeconds(__rusage_who_t(RUSAGE_CHILDREN.rawValue)) }

    #if canImport(Glibc)
    private static func cpuSeconds(_ who: __rusage_who_t) -> Double {
        var usage = rusage()
        getrusage(who, &usage)
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
    #else
    private static func cpuSeconds(_ who: Int32) -> Double {
        var usage = rusage()
        getrusage(who, &usage)
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
    #endif

    private static func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
}

/// One benchmark command and the reply it must get.
struct BenchTest: Sendable {
    var name: String
    var redisBenchmarkName: String
    var command: RedisCommand
    var expected: RedisValue
}

/// Callers as callback chains on the connections' event loops. With
/// `next`, every reply issues the caller's next request, so a caller with
/// `depth` requests started keeps `depth` in flight; with `nextBatch`, every
/// batch of replies issues the next batch. Either stops at `total` requests.
private final class FutureRun: Sendable {
    let client: RedisClient
    let test: BenchTest
    let total: Int
    let done: EventLoopPromise<Void>
    private let batch: [RedisCommand]
    private let issued = Atomic<Int>(0)
    private let completed = Atomic<Int>(0)
    private let failed = Atomic<Bool>(false)

    init(client: RedisClient, group: any EventLoopGroup, test: BenchTest, total: Int, batch: Int) {
        self.client = client
        self.test = test
        self.total = total
        self.batch = Array(repeating: test.command, count: batch)
        self.done = group.any().makePromise()
    }

    func nextBatch() {
        guard !failed.load(ordering: .relaxed) else { return }
        let first = issued.wrappingAdd(batch.count, ordering: .relaxed).oldValue
        guard first < total else { return }
        let count = min(batch.count, total - first)
        client.pipeline(count == batch.count ? batch : Array(batch.prefix(count))).whenComplete { result in
            switch result {
            case .success(let replies):
                if let wrong = replies.first(where: { $0 != self.test.expected }) {
                    self.fail(BenchError("\(self.test.name) answered \(wrong)"))
                    return
                }
                if self.completed.wrappingAdd(count, ordering: .relaxed).newValue == self.total {
                    self.done.succeed(())
                }
                self.nextBatch()
            case .failure(let error):
                self.fail(error)
            }
        }
    }

    func next() {
        guard !failed.load(ordering: .relaxed),
            issued.wrappingAdd(1, ordering: .relaxed).oldValue < total
        else { return }
        client.send(test.command).whenComplete { result in
            switch result {
            case .success(let reply) where reply == self.test.expected:
                if self.completed.wrappingAdd(1, ordering: .relaxed).newValue == self.total {
                    self.done.succeed(())
                }
                self.next()
            case .success(let reply):
                self.fail(BenchError("\(self.test.name) answered \(reply)"))
            case .failure(let error):
                self.fail(error)
            }
        }
    }

    private func fail(_ error: any Error) {
        if !failed.exchange(true, ordering: .relaxed) { done.fail(error) }
    }
}

private final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

private struct OurKey: Hashable {
    var test: String
    var depth: Int
    var connections: Int
    var style: BenchRedisCommand.CallerStyle
}

private struct TheirKey: Hashable {
    var test: String
    var depth: Int
}

/// One measurement: throughput, and CPU seconds per request of the client
/// process and of redis-server.
private struct Sample {
    var rps: Double
    var clientCPU: Double
    var serverCPU: Double

    /// The sample of median throughput (its CPU figures with it).
    static func median(_ samples: [Sample]) -> Sample {
        samples.sorted { $0.rps < $1.rps }[samples.count / 2]
    }
}

private struct ResultRow: Encodable {
    var test: String
    var pipeline: Int
    var clients: Int
    var requests: Int
    var connections: Int
    var threads: Int
    var callers: String
    var rounds: Int
    var switchboardRPS: Double
    var redisBenchmarkRPS: Double
    var ratio: Double
    var switchboardCPUMicros: Double
    var redisBenchmarkCPUMicros: Double
    var serverCPUMicrosSwitchboard: Double
    var serverCPUMicrosRedisBenchmark: Double
    var backgroundCores: Double?

    enum CodingKeys: String, CodingKey {
        case test, pipeline, clients, requests, connections, threads, callers, rounds, ratio
        case switchboardRPS = "switchboard_rps"
        case redisBenchmarkRPS = "redis_benchmark_rps"
        case switchboardCPUMicros = "switchboard_cpu_us_per_req"
        case redisBenchmarkCPUMicros = "redis_benchmark_cpu_us_per_req"
        case serverCPUMicrosSwitchboard = "server_cpu_us_per_req_switchboard"
        case serverCPUMicrosRedisBenchmark = "server_cpu_us_per_req_redis_benchmark"
        case backgroundCores = "background_cores"
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
