import ArgumentParser
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `switchboard-bench live`: a load generator for running nodes (see BENCHMARKS.md).
///
/// It provisions users (cached in `--users-cache` across runs) and
/// conversations through the REST API, opens one WebSocket per user spread
/// over `--urls`, sends at a fixed total rate from random members, and
/// measures every delivery's delay (send → receive) on the recipient.
///
/// Built to cost little next to the nodes it measures on the same cores: no
/// task per connection. Each connection is one NIO handler that does the
/// HTTP upgrade itself, parses frames in place (only `"seq":` and the send
/// time in the text, `t=<monotonic µs>`), answers pings, and records into
/// its event loop's HDR histograms and counters. Duplicates are counted per
/// client (a `seq` not above the last one seen in its conversation); lost
/// is counted per (conversation, seq): every acknowledged message should
/// reach every other member once. Deliveries of messages whose send was
/// not acknowledged (an error or timeout, yet stored) are counted apart.
struct BenchLiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "Load-test running nodes over WebSocket: delivery latency, loss, duplicates; idle memory; connect storms.",
        discussion: """
            Modes: fan-out (default): --clients users in conversations of --room-size, --rate messages/s in total \
            for --warmup + --duration seconds, then a drain. --idle N: N authenticated idle connections, held \
            for --hold seconds (memory per connection from --pids). --storm N: N connections as fast as \
            --connect-concurrency allows (connections per second).
            Prints one JSON line on stdout and a summary on stderr.
            """)

    @Option(help: "Base URLs of nodes or of a load balancer, comma separated (http:// or ws://); clients are spread over them.")
    var urls: String = "http://127.0.0.1:8080"

    @Option(help: "One base URL (same as --urls with one entry).")
    var url: String?

    @Option(help: "Connected clients, one user each.")
    var clients: Int = 1000

    @Option(help: "Members per conversation (each client is in exactly one).")
    var roomSize: Int = 20

    @Option(help: "Messages per second, in total.")
    var rate: Double = 500

    @Option(help: "Measured seconds of sending (after the warmup).")
    var duration: Double = 30

    @Option(help: "Seconds of sending before measuring.")
    var warmup: Double = 5

    @Option(help: "At most this many seconds to wait for in-flight deliveries after the last send.")
    var drain: Double = 15

    @Option(help: "New connections per second (0: as fast as --connect-concurrency allows).")
    var connectRate: Double = 2000

    @Option(help: "Connections being opened at once.")
    var connectConcurrency: Int = 256

    @Option(help: "Event-loop threads of the generator.")
    var threads: Int = System.coreCount

    @Option(help: "Conversation kind: group (created with its members) or room (public; members join themselves).")
    var kind: String = "group"

    @Option(help: "File that keeps the users (ids and tokens) between runs against the same Redis.")
    var usersCache: String?

    @Option(help: "Username prefix; users are <prefix><index>.")
    var userPrefix: String = "bench_"

    @Option(help: "Password of every bench user.")
    var password: String = "bench-password-0"

    @Option(help: "Concurrent HTTP requests while provisioning.")
    var httpConcurrency: Int = 32

    @Option(help: "Idle mode: open this many authenticated connections and hold them.")
    var idle: Int?

    @Option(help: "Connect-storm mode: open this many connections as fast as possible.")
    var storm: Int?

    @Option(help: "Seconds to hold the connections (idle and storm modes).")
    var hold: Double = 10

    @Option(help: "Seconds between the last connection and the memory sample (idle mode).")
    var settle: Double = 5

    @Option(
        help:
            "Processes to sample (CPU from /proc/PID/stat, RSS from /proc/PID/status), as name=pid,...; names starting with `node` count as node CPU."
    )
    var pids: String?

    @Option(help: "Scenario name, copied into the JSON line.")
    var label: String?

    @Flag(help: "Keep the conversations (default: delete them at the end).")
    var keep = false

    func validate() throws {
        guard clients > 0, roomSize >= 2, rate > 0, duration > 0, warmup >= 0, threads > 0 else {
            throw ValidationError("need --clients > 0, --room-size >= 2, --rate > 0, --duration > 0, --threads > 0")
        }
        guard kind == "group" || kind == "room" else { throw ValidationError("--kind is group or room") }
        guard connectConcurrency > 0, httpConcurrency > 0 else { throw ValidationError("concurrency must be positive") }
    }

    func run() async throws {
        Self.raiseFileLimit()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let endpoints = try (url ?? urls).split(separator: ",").map { try Endpoint(String($0)) }
        guard !endpoints.isEmpty else { throw ValidationError("no --urls") }
        let watched = try ProcessWatch.parse(pids)
        let runner = LiveBench(command: self, endpoints: endpoints, group: group, watched: watched)
        do {
            if let count = idle ?? storm {
                try await runner.runIdle(count: count, storm: storm != nil)
            } else {
                try await runner.runFanout()
            }
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
    }

    /// Raises the soft open-file limit to the hard one.
    private static func raiseFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }
}
