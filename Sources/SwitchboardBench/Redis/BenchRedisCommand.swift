import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import RedisClient

/// `switchboard-bench redis`: our Redis client against `redis-benchmark` on
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
    var redisURL: String = ProcessInfo.processInfo.environment["SWITCHBOARD_REDIS_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "redis://127.0.0.1:6379"

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
}
