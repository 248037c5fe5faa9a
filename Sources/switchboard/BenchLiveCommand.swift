import ArgumentParser
import Foundation
import Histogram
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `switchboard bench live`: a load generator for running nodes (see BENCHMARKS.md).
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

    @Option(help: "Processes to sample (CPU from /proc/PID/stat, RSS from /proc/PID/status), as name=pid,...; names starting with `node` count as node CPU.")
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
        raiseFileLimit()
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
}

// MARK: - The run

/// One bench run: provisioning, connections, load, report.
fileprivate struct LiveBench {
    let command: BenchLiveCommand
    let endpoints: [Endpoint]
    let group: MultiThreadedEventLoopGroup
    let watched: [ProcessWatch]
    let loops: [LoopState]

    init(command: BenchLiveCommand, endpoints: [Endpoint], group: MultiThreadedEventLoopGroup, watched: [ProcessWatch]) {
        self.command = command
        self.endpoints = endpoints
        self.group = group
        self.watched = watched
        self.loops = group.makeIterator().map { LoopState(loop: $0) }
    }

    func log(_ text: String) {
        FileHandle.standardError.write(Data(("bench: " + text + "\n").utf8))
    }

    // MARK: Fan-out

    func runFanout() async throws {
        let command = self.command
        let clientCount = command.clients
        let roomSize = command.roomSize
        let roomCount = (clientCount + roomSize - 1) / roomSize
        let http = HTTPPool(endpoints: endpoints, group: group)
        let users = try await provisionUsers(clientCount, http: http)
        var provisionStart = monotonicMicros()
        let rooms = try await provisionRooms(users: users, roomCount: roomCount, roomSize: roomSize, http: http)
        log("\(roomCount) \(command.kind) conversations of up to \(roomSize) members in \(seconds(since: provisionStart)) s")

        // Connect every client; client i is in room i / roomSize.
        provisionStart = monotonicMicros()
        let connected = await connectAll(count: clientCount, users: users) { index in
            let room = index / roomSize
            let members = min(roomSize, clientCount - room * roomSize)
            return (rooms[room], room, members - 1)
        }
        let connectSeconds = seconds(since: provisionStart)
        log("\(connected.ok) of \(clientCount) connected in \(format(connectSeconds)) s (\(connected.failed) failed\(connected.firstError.map { ": " + $0 } ?? ""))")
        guard connected.ok > 0 else { throw LiveBenchError("no client connected") }

        // Send: warmup, then the measured window, on every loop.
        let start = monotonicMicros() + 20_000
        let warmupEnd = start + UInt64(command.warmup * 1e6)
        let sendEnd = warmupEnd + UInt64(command.duration * 1e6)
        let readyCounts = try await gather { $0.readyClients }
        let totalReady = readyCounts.reduce(0, +)
        for (state, ready) in zip(loops, readyCounts) {
            let share = command.rate * Double(ready) / Double(max(totalReady, 1))
            state.loop.execute { state.startSending(start: start, warmupEnd: warmupEnd, end: sendEnd, rate: share) }
        }
        log("sending \(format(command.rate)) msg/s: \(format(command.warmup)) s warmup, \(format(command.duration)) s measured")

        await sleep(until: warmupEnd)
        let countsAtStart = try await counters()
        var procStart = watched.map { $0.sample() }
        var peakRSS = procStart.map { $0?.rssKB ?? 0 }
        let selfStart = ProcessWatch.selfSample()
        let machineStart = ProcessWatch.machineTicks()
        while monotonicMicros() < sendEnd {
            await sleep(until: min(sendEnd, monotonicMicros() + 1_000_000))
            for (index, watch) in watched.enumerated() { peakRSS[index] = max(peakRSS[index], watch.sample()?.rssKB ?? 0) }
        }
        let countsAtEnd = try await counters()
        let procEnd = watched.map { $0.sample() }
        let selfEnd = ProcessWatch.selfSample()
        let machineEnd = ProcessWatch.machineTicks()
        for (index, sample) in procEnd.enumerated() { peakRSS[index] = max(peakRSS[index], sample?.rssKB ?? 0) }
        if procStart.count != procEnd.count { procStart = procEnd }

        // Drain: until every acknowledged message reached every member, or time is up.
        let drainStart = monotonicMicros()
        // With failed sends the counts cannot tell (a failed send may still
        // have been stored): then wait for 2 s without a new delivery.
        var lastDelivered = -1
        var quietSince = monotonicMicros()
        while true {
            let now = try await counters()
            let answered = now.sending == 0 && now.acked + now.sendErrors >= now.sent
            let complete = answered && now.sendErrors == 0 && now.delivered - now.duplicates >= now.expected
            if now.delivered != lastDelivered {
                lastDelivered = now.delivered
                quietSince = monotonicMicros()
            }
            let quiet = answered && now.sendErrors > 0 && monotonicMicros() - quietSince > 2_000_000
            if complete || quiet || seconds(since: drainStart) >= command.drain { break }
            await sleep(until: monotonicMicros() + 100_000)
        }
        let drainSeconds = seconds(since: drainStart)
        let totals = try await snapshot()

        // Report.
        let windowDeliveries = countsAtEnd.delivered - countsAtStart.delivered
        let window = command.duration
        var report = JSONObject()
        report["mode"] = .string("fanout")
        if let label = command.label { report["label"] = .string(label) }
        report["clients"] = .int(clientCount)
        report["connected"] = .int(connected.ok)
        report["rooms"] = .int(roomCount)
        report["room_size"] = .int(roomSize)
        report["kind"] = .string(command.kind)
        report["rate"] = .double(command.rate)
        report["duration_s"] = .double(command.duration)
        report["warmup_s"] = .double(command.warmup)
        report["sent"] = .int(totals.sent)
        report["acked"] = .int(totals.acked)
        report["send_errors"] = .int(totals.sendErrors)
        report["expected"] = .int(totals.expected)
        report["delivered"] = .int(totals.delivered)
        let accounting = totals.accounting { room in min(roomSize, clientCount - room * roomSize) - 1 }
        report["lost"] = .int(accounting.lost)
        report["duplicates"] = .int(totals.duplicates)
        report["unacked_stored"] = .int(accounting.unackedStored)
        report["unacked_delivered"] = .int(accounting.unackedDelivered)
        report["measured"] = .int(Int(totals.latency.totalCount))
        addPercentiles(&report, prefix: "", totals.latency)
        addPercentiles(&report, prefix: "ack_", totals.ackLatency, only: [50, 99])
        report["deliveries_per_s"] = .double((Double(windowDeliveries) / window).rounded())
        report["send_lag_p99_ms"] = .double(ms(totals.sendLag.valueAtPercentile(99)))
        report["send_lag_max_ms"] = .double(ms(totals.sendLag.max))
        report["connect_s"] = .double(round3(connectSeconds))
        report["connect_failures"] = .int(connected.failed)
        report["dropped"] = .int(totals.dropped)
        report["close_codes"] = .object(JSONObject(totals.closeCodes.sorted { $0.key < $1.key }.map { (String($0.key), .int($0.value)) }))
        report["drain_s"] = .double(round3(drainSeconds))
        if let error = totals.firstError { report["first_error"] = .string(error) }
        let nodeCPU = processReport(&report, start: procStart, end: procEnd, peak: peakRSS, window: window)
        if nodeCPU > 0, windowDeliveries > 0 {
            report["node_cpu_us_per_delivery"] = .double(round3(nodeCPU * 1e6 / Double(windowDeliveries)))
        }
        if let selfStart, let selfEnd {
            let benchCPU = Double(selfEnd.cpuTicks - selfStart.cpuTicks) / ProcessWatch.ticksPerSecond
            report["bench_cpu_pct"] = .double(round1(benchCPU / window * 100))
            if let machineStart, let machineEnd {
                // Everything else on the machine (other jobs) in the window, in % of one core.
                let busy = Double(machineEnd - machineStart) / ProcessWatch.ticksPerSecond
                var watchedCPU = 0.0
                for (index, _) in watched.enumerated() {
                    if let a = procStart[index], let b = procEnd[index] { watchedCPU += Double(b.cpuTicks - a.cpuTicks) / ProcessWatch.ticksPerSecond }
                }
                report["machine_busy_pct"] = .double(round1(busy / window * 100))
                report["other_cpu_pct"] = .double(round1(max(0, busy - watchedCPU - benchCPU) / window * 100))
            }
        }
        FileHandle.standardOutput.write(Data((report.serialized() + "\n").utf8))
        log(
            """
            \(command.label ?? "fanout"): \(connected.ok) clients, \(roomCount) rooms of \(roomSize), \(format(command.rate)) msg/s for \(format(window)) s
              sent \(totals.sent), acked \(totals.acked), errors \(totals.sendErrors); deliveries expected \(totals.expected), delivered \(totals.delivered), lost \(report["lost"]!), duplicates \(totals.duplicates), dropped connections \(totals.dropped)
              sends not acknowledged but stored and delivered: \(accounting.unackedStored) (\(accounting.unackedDelivered) deliveries)
              latency ms: p50 \(report["p50_ms"]!) p90 \(report["p90_ms"]!) p99 \(report["p99_ms"]!) p99.9 \(report["p999_ms"]!) max \(report["max_ms"]!) (ack p99 \(report["ack_p99_ms"]!))
              \(report["deliveries_per_s"]!) deliveries/s; node CPU µs/delivery \(report["node_cpu_us_per_delivery"].map { "\($0)" } ?? "-"); connect \(format(connectSeconds)) s; drain \(format(drainSeconds)) s
            """)

        await closeAll()
        if !command.keep {
            try? await http.parallel(rooms.count, concurrency: command.httpConcurrency) { connection, index in
                let owner = users[index * roomSize]
                _ = try await connection.request(.DELETE, "/api/v1/conversations/\(rooms[index])", token: owner.access)
            }
        }
        await http.close()
    }

    // MARK: Idle and storm

    func runIdle(count: Int, storm: Bool) async throws {
        let command = self.command
        let http = HTTPPool(endpoints: endpoints, group: group)
        let users = try await provisionUsers(count, http: http)
        await http.close()
        let before = watched.map { $0.sample() }
        let start = monotonicMicros()
        let connected = await connectAll(
            count: count, users: users, rate: storm ? 0 : command.connectRate,
            concurrency: storm ? max(command.connectConcurrency, 1000) : command.connectConcurrency
        ) { _ in (nil, -1, 0) }
        let connectSeconds = seconds(since: start)
        log("\(connected.ok) of \(count) connected in \(format(connectSeconds)) s, \(format(Double(connected.ok) / connectSeconds)) per s (\(connected.failed) failed\(connected.firstError.map { ": " + $0 } ?? ""))")
        if !storm { await sleep(until: monotonicMicros() + UInt64(command.settle * 1e6)) }
        let after = watched.map { $0.sample() }
        let totals = try await snapshot()

        var report = JSONObject()
        report["mode"] = .string(storm ? "storm" : "idle")
        if let label = command.label { report["label"] = .string(label) }
        report["connections"] = .int(count)
        report["connected"] = .int(connected.ok)
        report["connect_failures"] = .int(connected.failed)
        report["connect_s"] = .double(round3(connectSeconds))
        report["connections_per_s"] = .double((Double(connected.ok) / connectSeconds).rounded())
        addPercentiles(&report, prefix: "connect_", totals.connectLatency, only: [50, 99])
        var nodeDelta = 0
        var nodes = JSONObject()
        for (index, watch) in watched.enumerated() {
            guard let b = before[index], let a = after[index] else { continue }
            var entry = JSONObject()
            entry["rss_before_mb"] = .double(round1(Double(b.rssKB) / 1024))
            entry["rss_after_mb"] = .double(round1(Double(a.rssKB) / 1024))
            entry["cpu_s"] = .double(round3(Double(a.cpuTicks - b.cpuTicks) / ProcessWatch.ticksPerSecond))
            nodes[watch.name] = .object(entry)
            if watch.name.hasPrefix("node") { nodeDelta += a.rssKB - b.rssKB }
        }
        if !watched.isEmpty { report["processes"] = .object(nodes) }
        if connected.ok > 0, watched.contains(where: { $0.name.hasPrefix("node") }) {
            report["node_kb_per_connection"] = .double(round3(Double(nodeDelta) / Double(connected.ok)))
        }
        if let error = connected.firstError { report["first_error"] = .string(error) }
        FileHandle.standardOutput.write(Data((report.serialized() + "\n").utf8))
        log("\(storm ? "storm" : "idle"): \(report.serialized())")
        if command.hold > 0 { await sleep(until: monotonicMicros() + UInt64(command.hold * 1e6)) }
        let dropped = try await snapshot().dropped
        if dropped > 0 { log("\(dropped) connections dropped while held") }
        await closeAll()
    }

    // MARK: Provisioning

    /// Users 0..<count: from the cache when their tokens are still good, else registered (or logged in).
    func provisionUsers(_ count: Int, http: HTTPPool) async throws -> [BenchUser] {
        let command = self.command
        var cache = UserCache(path: command.usersCache)
        cache.load()
        if let any = cache.users.values.first {
            // A cache from another Redis (or with a rotated secret) is useless.
            let check = try await http.withConnection { try await $0.request(.GET, "/api/v1/users/me", token: any.access) }
            if check.status != 200 {
                log("users cache does not match this server (\(check.status)): starting over")
                cache.users = [:]
            }
        }
        let names = (0..<count).map { command.userPrefix + String($0) }
        let horizon = Int(Date().timeIntervalSince1970) + 3600
        let missing = names.indices.filter { index in
            guard let user = cache.users[names[index]] else { return true }
            return (user.expiry ?? 0) < horizon
        }
        if !missing.isEmpty {
            let started = monotonicMicros()
            log("registering or refreshing \(missing.count) users (\(count - missing.count) cached)")
            let results = Locked<[String: BenchUser]>([:])
            let done = AtomicCounter()
            let password = command.password
            let cached = cache.users
            try await http.parallel(missing.count, concurrency: command.httpConcurrency) { connection, job in
                let name = names[missing[job]]
                let user = try await Self.obtainUser(name: name, password: password, cached: cached[name], connection: connection)
                results.withLock { $0[name] = user }
                let finished = done.next() + 1
                if finished % 1000 == 0 {
                    let elapsed = Double(monotonicMicros() - started) / 1e6
                    FileHandle.standardError.write(Data("bench: \(finished) users, \(Int(Double(finished) / elapsed))/s\n".utf8))
                }
            }
            cache.users.merge(results.withLock { $0 }) { $1 }
            cache.save()
            log("users ready in \(seconds(since: started)) s")
        }
        return try names.map { name in
            guard let user = cache.users[name] else { throw LiveBenchError("user \(name) missing") }
            return user
        }
    }

    /// Refreshes a cached user's tokens, else registers (or logs in when the name is taken).
    static func obtainUser(name: String, password: String, cached: BenchUser?, connection: HTTPConnection) async throws -> BenchUser {
        if let cached {
            let reply = try await connection.request(.POST, "/api/v1/auth/refresh", json: ["refreshToken": cached.refresh])
            if reply.status == 200, let user = BenchUser(name: name, reply: reply) { return user }
        }
        var attempt = 0
        var path = "/api/v1/auth/register"
        while true {
            attempt += 1
            let reply = try await connection.request(.POST, path, json: ["username": name, "password": password])
            switch reply.status {
            case 200, 201:
                guard let user = BenchUser(name: name, reply: reply) else { throw LiveBenchError("unreadable auth reply: \(reply.text)") }
                return user
            case 409 where path.hasSuffix("register"):
                path = "/api/v1/auth/login"
            case 429 where attempt < 20, 503 where attempt < 20:
                try await Task.sleep(nanoseconds: UInt64(max(reply.retryAfter ?? 1, 1)) * 1_000_000_000)
            default:
                throw LiveBenchError("\(path) for \(name): \(reply.status) \(reply.text)")
            }
        }
    }

    /// Conversations with consecutive users: room r holds users r*size ..< (r+1)*size; the first is the owner.
    func provisionRooms(users: [BenchUser], roomCount: Int, roomSize: Int, http: HTTPPool) async throws -> [String] {
        let command = self.command
        let ids = Locked<[String?]>(Array(repeating: nil, count: roomCount))
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        try await http.parallel(roomCount, concurrency: min(command.httpConcurrency, 8)) { connection, room in
            let members = Array(users[(room * roomSize)..<min(users.count, (room + 1) * roomSize)])
            let owner = members[0]
            let others = members.dropFirst().map(\.id)
            let body: [String: Any] =
                command.kind == "group"
                ? ["kind": "group", "name": "bench \(tag) \(room)", "members": Array(others.prefix(1000))]
                : ["kind": "room", "name": "bench \(tag) \(room)", "public": true]
            let reply = try await connection.request(.POST, "/api/v1/conversations", json: body, token: owner.access)
            guard reply.status == 201 || reply.status == 200,
                let id = (reply.json?["conversation"] as? [String: Any])?["id"] as? String
            else { throw LiveBenchError("create conversation: \(reply.status) \(reply.text)") }
            if command.kind == "group" {
                var rest = others.dropFirst(1000)
                while !rest.isEmpty {
                    let chunk = Array(rest.prefix(1000))
                    rest = rest.dropFirst(1000)
                    let added = try await connection.request(.POST, "/api/v1/conversations/\(id)/members", json: ["users": chunk], token: owner.access)
                    guard added.status == 200 else { throw LiveBenchError("add members: \(added.status) \(added.text)") }
                }
            }
            ids.withLock { $0[room] = id }
        }
        let rooms = ids.withLock { $0.map { $0 ?? "" } }
        if command.kind == "room" {
            // Every member but the owner joins by itself.
            let joiners = users.indices.filter { $0 % roomSize != 0 }
            try await http.parallel(joiners.count, concurrency: command.httpConcurrency) { connection, job in
                let index = joiners[job]
                let user = users[index]
                let reply = try await connection.request(
                    .POST, "/api/v1/conversations/\(rooms[index / roomSize])/members", json: ["users": [user.id]], token: user.access)
                guard reply.status == 200 else { throw LiveBenchError("join room: \(reply.status) \(reply.text)") }
            }
        }
        return rooms
    }

    // MARK: Connections

    struct ConnectResult {
        var ok = 0
        var failed = 0
        var firstError: String?
    }

    /// Opens `count` connections at `rate` per second (0: unpaced), at most
    /// `concurrency` at once; client i goes to loop i % loops and URL
    /// (i / loops) % urls. `room(i)` gives its conversation and the number of
    /// other members.
    func connectAll(
        count: Int, users: [BenchUser], rate: Double? = nil, concurrency: Int? = nil,
        room: @escaping @Sendable (Int) -> (String?, Int, Int)
    ) async -> ConnectResult {
        let rate = rate ?? command.connectRate
        let concurrency = concurrency ?? command.connectConcurrency
        let loops = self.loops
        let endpoints = self.endpoints
        let start = monotonicMicros()
        var result = ConnectResult()
        var lastReport = start
        await withTaskGroup(of: String?.self) { group in
            var inFlight = 0
            func collect(_ outcome: String??) {
                guard let outcome else { return }
                if let error = outcome {
                    result.failed += 1
                    if result.firstError == nil { result.firstError = error }
                } else {
                    result.ok += 1
                }
            }
            for index in 0..<count {
                if inFlight >= concurrency {
                    collect(await group.next())
                    inFlight -= 1
                }
                if rate > 0 {
                    let due = start + UInt64(Double(index) / rate * 1e6)
                    if due > monotonicMicros() + 1000 { await sleep(until: due) }
                }
                let state = loops[index % loops.count]
                let endpoint = endpoints[(index / loops.count) % endpoints.count]
                let (conversation, roomIndex, peers) = room(index)
                let token = users[index].access
                group.addTask {
                    var lastError = ""
                    for attempt in 0..<3 {
                        do {
                            try await BenchClient.connect(endpoint: endpoint, token: token, conversation: conversation, room: roomIndex, peers: peers, state: state).get()
                            return nil
                        } catch {
                            lastError = "\(error)"
                            try? await Task.sleep(nanoseconds: UInt64(100_000_000 * (attempt + 1)))
                        }
                    }
                    return lastError
                }
                inFlight += 1
                let now = monotonicMicros()
                if now - lastReport > 5_000_000 {
                    lastReport = now
                    FileHandle.standardError.write(Data("bench: \(index + 1) connections started, \(result.ok) ready\n".utf8))
                }
            }
            for await outcome in group { collect(outcome) }
        }
        return result
    }

    func closeAll() async {
        for state in loops {
            try? await state.loop.submit { state.closeAll() }.get()
        }
        // Let the close frames go out.
        await sleep(until: monotonicMicros() + 500_000)
    }

    // MARK: Gathering

    func gather<T: Sendable>(_ body: @escaping @Sendable (LoopState) -> T) async throws -> [T] {
        var values: [T] = []
        for state in loops { values.append(try await state.loop.submit { body(state) }.get()) }
        return values
    }

    func counters() async throws -> LoopCounters {
        try await gather { state in
            var counters = state.counters
            counters.sending = state.isSending ? 1 : 0
            return counters
        }.reduce(into: LoopCounters()) { $0.add($1) }
    }

    func snapshot() async throws -> LoopSnapshot {
        let parts = try await gather { $0.snapshot() }
        var total = LoopSnapshot()
        for part in parts { total.add(part) }
        return total
    }

    // MARK: Report helpers

    func addPercentiles(_ report: inout JSONObject, prefix: String, _ histogram: Histogram<UInt64>, only: [Double]? = nil) {
        let all: [(Double, String)] = [(50, "p50"), (90, "p90"), (99, "p99"), (99.9, "p999")]
        for (percentile, name) in all where only?.contains(percentile) ?? true {
            report[prefix + name + "_ms"] = .double(histogram.totalCount == 0 ? 0 : ms(histogram.valueAtPercentile(percentile)))
        }
        if only == nil { report[prefix + "max_ms"] = .double(histogram.totalCount == 0 ? 0 : ms(histogram.max)) }
    }

    /// Per-process CPU and RSS over the measured window; returns node CPU seconds.
    func processReport(_ report: inout JSONObject, start: [ProcSample?], end: [ProcSample?], peak: [Int], window: Double) -> Double {
        guard !watched.isEmpty else { return 0 }
        var nodeCPU = 0.0
        var processes = JSONObject()
        for (index, watch) in watched.enumerated() {
            guard let a = start[index], let b = end[index] else { continue }
            let cpu = Double(b.cpuTicks - a.cpuTicks) / ProcessWatch.ticksPerSecond
            var entry = JSONObject()
            entry["cpu_s"] = .double(round3(cpu))
            entry["cpu_pct"] = .double(round1(cpu / window * 100))
            entry["rss_start_mb"] = .double(round1(Double(a.rssKB) / 1024))
            entry["rss_end_mb"] = .double(round1(Double(b.rssKB) / 1024))
            entry["rss_peak_mb"] = .double(round1(Double(peak[index]) / 1024))
            processes[watch.name] = .object(entry)
            if watch.name.hasPrefix("node") { nodeCPU += cpu }
        }
        report["processes"] = .object(processes)
        if nodeCPU > 0 { report["node_cpu_pct"] = .double(round1(nodeCPU / window * 100)) }
        return nodeCPU
    }
}

// MARK: - One event loop's clients and measurements

/// Counters of one loop (cheap to gather while the run goes on).
fileprivate struct LoopCounters: Sendable {
    var sent = 0
    var acked = 0
    var sendErrors = 0
    var expected = 0
    var delivered = 0
    var duplicates = 0
    /// Loops still sending.
    var sending = 0

    mutating func add(_ other: LoopCounters) {
        sending += other.sending
        sent += other.sent
        acked += other.acked
        sendErrors += other.sendErrors
        expected += other.expected
        delivered += other.delivered
        duplicates += other.duplicates
    }
}

/// Everything one loop measured.
fileprivate struct LoopSnapshot: Sendable {
    var latency = LoopState.makeHistogram()
    var ackLatency = LoopState.makeHistogram()
    var sendLag = LoopState.makeHistogram()
    var connectLatency = LoopState.makeHistogram()
    var sent = 0
    var acked = 0
    var sendErrors = 0
    var expected = 0
    var delivered = 0
    var duplicates = 0
    var otherEvents = 0
    var dropped = 0
    var closeCodes: [Int: Int] = [:]
    var firstError: String?
    var seqCounts: [[UInt16]] = []
    var ackedSeqs: [[UInt32]] = []

    mutating func add(_ other: LoopSnapshot) {
        latency.add(other.latency)
        ackLatency.add(other.ackLatency)
        sendLag.add(other.sendLag)
        connectLatency.add(other.connectLatency)
        sent += other.sent
        acked += other.acked
        sendErrors += other.sendErrors
        expected += other.expected
        delivered += other.delivered
        duplicates += other.duplicates
        otherEvents += other.otherEvents
        dropped += other.dropped
        closeCodes.merge(other.closeCodes, uniquingKeysWith: +)
        firstError = firstError ?? other.firstError
        if seqCounts.count < other.seqCounts.count { seqCounts.append(contentsOf: repeatElement([], count: other.seqCounts.count - seqCounts.count)) }
        for (room, counts) in other.seqCounts.enumerated() {
            if seqCounts[room].count < counts.count { seqCounts[room].append(contentsOf: repeatElement(0, count: counts.count - seqCounts[room].count)) }
            for (seq, count) in counts.enumerated() where count > 0 { seqCounts[room][seq] &+= count }
        }
        if ackedSeqs.count < other.ackedSeqs.count { ackedSeqs.append(contentsOf: repeatElement([], count: other.ackedSeqs.count - ackedSeqs.count)) }
        for (room, seqs) in other.ackedSeqs.enumerated() { ackedSeqs[room] += seqs }
    }

    /// Per (conversation, seq): deliveries missing for acknowledged messages,
    /// and deliveries of messages whose send was not acknowledged (failed or
    /// timed out, yet stored and broadcast).
    func accounting(peers: (Int) -> Int) -> (lost: Int, unackedDelivered: Int, unackedStored: Int) {
        var lost = 0
        var unackedDelivered = 0
        var unackedStored = 0
        let rooms = max(seqCounts.count, ackedSeqs.count)
        for room in 0..<rooms {
            let counts = room < seqCounts.count ? seqCounts[room] : []
            var acked = Set<Int>()
            for seq in room < ackedSeqs.count ? ackedSeqs[room] : [] {
                let index = Int(seq)
                acked.insert(index)
                lost += max(0, peers(room) - (index < counts.count ? Int(counts[index]) : 0))
            }
            for (seq, count) in counts.enumerated() where count > 0 && !acked.contains(seq) {
                unackedDelivered += Int(count)
                unackedStored += 1
            }
        }
        return (lost, unackedDelivered, unackedStored)
    }
}

/// The clients of one event loop, its sender and its measurements. Only
/// ever touched on its loop (hence `@unchecked Sendable`).
fileprivate final class LoopState: @unchecked Sendable {
    let loop: any EventLoop
    var clients: [BenchClient] = []
    private var rng: UInt64 = UInt64.random(in: 1...UInt64.max)

    // Schedule (µs, monotonic)
    var sendStart: UInt64 = 0
    var warmupEnd: UInt64 = .max
    var sendEnd: UInt64 = 0
    private var ratePerMicro = 0.0
    private var scheduled = 0
    private var sendTask: RepeatedTask?

    // Measurements
    var latency = LoopState.makeHistogram()
    var ackLatency = LoopState.makeHistogram()
    var sendLag = LoopState.makeHistogram()
    var connectLatency = LoopState.makeHistogram()
    var counters = LoopCounters()
    var otherEvents = 0
    var dropped = 0
    var closeCodes: [Int: Int] = [:]
    var firstError: String?
    /// Per conversation (by index): deliveries seen per seq, and the seqs acknowledged to senders.
    var seqCounts: [[UInt16]] = []
    var ackedSeqs: [[UInt32]] = []

    init(loop: any EventLoop) {
        self.loop = loop
    }

    /// 1 µs to 10 min, 3 significant digits.
    static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    }

    var readyClients: Int { clients.count }
    var isSending: Bool { sendTask != nil }

    @inline(__always)
    func countDelivery(room: Int, seq: UInt64) {
        if room >= seqCounts.count { seqCounts.append(contentsOf: repeatElement([], count: room + 1 - seqCounts.count)) }
        let index = Int(seq)
        if index >= seqCounts[room].count { seqCounts[room].append(contentsOf: repeatElement(0, count: max(index + 1 - seqCounts[room].count, 1024))) }
        seqCounts[room][index] &+= 1
    }

    func countAck(room: Int, seq: UInt64) {
        if room >= ackedSeqs.count { ackedSeqs.append(contentsOf: repeatElement([], count: room + 1 - ackedSeqs.count)) }
        ackedSeqs[room].append(UInt32(truncatingIfNeeded: seq))
    }

    func snapshot() -> LoopSnapshot {
        LoopSnapshot(
            latency: latency, ackLatency: ackLatency, sendLag: sendLag, connectLatency: connectLatency,
            sent: counters.sent, acked: counters.acked, sendErrors: counters.sendErrors, expected: counters.expected,
            delivered: counters.delivered, duplicates: counters.duplicates, otherEvents: otherEvents,
            dropped: dropped, closeCodes: closeCodes, firstError: firstError, seqCounts: seqCounts, ackedSeqs: ackedSeqs)
    }

    func noteError(_ text: String) {
        if firstError == nil { firstError = String(text.prefix(300)) }
    }

    // MARK: Sending at a fixed rate

    func startSending(start: UInt64, warmupEnd: UInt64, end: UInt64, rate: Double) {
        sendStart = start
        self.warmupEnd = warmupEnd
        sendEnd = end
        ratePerMicro = rate / 1e6
        scheduled = 0
        guard rate > 0, !clients.isEmpty else { return }
        let delay = TimeAmount.microseconds(Int64(max(0, Int64(start) - Int64(monotonicMicros()))))
        sendTask = loop.scheduleRepeatedTask(initialDelay: delay, delay: .milliseconds(1)) { [self] _ in self.tick() }
    }

    /// Sends every message due by now (open loop: a late tick catches up);
    /// each carries its actual send time.
    private func tick() {
        let now = monotonicMicros()
        let until = min(now, sendEnd)
        if until > sendStart {
            let target = Int(Double(until - sendStart) * ratePerMicro)
            while scheduled < target {
                // Message k (from 0) is due once (k + 1) / rate seconds passed.
                scheduled += 1
                let intended = sendStart + UInt64(Double(scheduled) / ratePerMicro)
                guard let client = pickClient() else { continue }
                if intended >= warmupEnd { _ = sendLag.record(max(1, now &- intended)) }
                client.sendMessage(now: now)
                counters.sent += 1
            }
        }
        if now >= sendEnd {
            sendTask?.cancel()
            sendTask = nil
        }
    }

    private func pickClient() -> BenchClient? {
        for _ in 0..<16 {
            rng ^= rng << 13
            rng ^= rng >> 7
            rng ^= rng << 17
            let client = clients[Int(rng % UInt64(clients.count))]
            if client.isReady { return client }
        }
        return nil
    }

    func closeAll() {
        sendTask?.cancel()
        sendTask = nil
        for client in clients { client.closeFromBench() }
    }
}

// MARK: - One WebSocket client connection

/// Byte patterns searched for in frames.
fileprivate enum Needle {
    static let headerEnd: [UInt8] = Array("\r\n\r\n".utf8)
    static let seq: [UInt8] = Array(#""seq":"#.utf8)
    static let stamp: [UInt8] = Array(#""text":"t="#.utf8)
    static let message: [UInt8] = Array(#""ev":"message""#.utf8)
    static let okTrue: [UInt8] = Array(#""ok":true"#.utf8)
    static let replyStart: [UInt8] = Array(#"{"re":"#.utf8)
}

/// A bench client: does the HTTP upgrade itself (no NIOHTTP1/NIOWebSocket
/// handlers in its pipeline), then parses frames straight from the read
/// buffer. It sends a `ping` op right after the upgrade: the reply comes once
/// authentication finished (ops queue behind it), which marks it ready.
fileprivate final class BenchClient: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Phase { case handshake, authenticating, ready, closed }

    let state: LoopState
    private let request: String
    private let sendPrefix: [UInt8]
    private let peers: Int
    private let room: Int
    private let ready: EventLoopPromise<Void>
    private let started: UInt64
    private var phase = Phase.handshake
    private var context: ChannelHandlerContext?
    private var pending: ByteBuffer?
    private var lastSeq: UInt64 = 0
    private var nextID = 1
    private var closedByBench = false
    private var readyDone = false

    var isReady: Bool { phase == .ready }

    init(state: LoopState, request: String, conversation: String?, room: Int, peers: Int, ready: EventLoopPromise<Void>, started: UInt64) {
        self.state = state
        self.room = room
        self.request = request
        self.sendPrefix = conversation.map { Array(#"{"op":"send","conv":"#.utf8) + Array(("\"" + $0 + "\"").utf8) + Array(#","text":"t="#.utf8) } ?? []
        self.peers = peers
        self.ready = ready
        self.started = started
    }

    /// Connects, upgrades with the bearer token and waits for the first op's reply.
    static func connect(endpoint: Endpoint, token: String, conversation: String?, room: Int, peers: Int, state: LoopState) -> EventLoopFuture<Void> {
        let loop = state.loop
        let ready = loop.makePromise(of: Void.self)
        let request =
            "GET /ws HTTP/1.1\r\nHost: \(endpoint.host):\(endpoint.port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: c3dpdGNoYm9hcmQtYmVuY2g=\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer \(token)\r\n\r\n"
        let started = monotonicMicros()
        ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        BenchClient(state: state, request: request, conversation: conversation, room: room, peers: peers, ready: ready, started: started))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .whenFailure { ready.fail($0) }
        return ready.futureResult
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .seconds(30)) {
            let client = bound.value
            if !client.readyDone {
                client.failReady("not ready after 30 s")
                client.context?.close(promise: nil)
            }
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if phase == .ready, !closedByBench { state.dropped += 1 }
        phase = .closed
        failReady("connection closed")
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failReady("connection closed")
        self.context = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failReady("\(error)")
        context.close(promise: nil)
    }

    private func failReady(_ reason: String) {
        guard !readyDone else { return }
        readyDone = true
        ready.fail(LiveBenchError(reason))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        var buffer: ByteBuffer
        if var held = pending.take() {
            held.writeBuffer(&incoming)
            buffer = held
        } else {
            buffer = incoming
        }
        let now = monotonicMicros()
        if phase == .handshake {
            guard handshake(&buffer, context: context) else {
                if buffer.readableBytes > 0, phase == .handshake { pending = buffer }
                return
            }
        }
        var closeCode: Int?
        let consumed = buffer.withUnsafeReadableBytes { frames(in: $0, now: now, context: context, close: &closeCode) }
        buffer.moveReaderIndex(forwardBy: consumed)
        if buffer.readableBytes > 0 {
            buffer.discardReadBytes()
            pending = buffer
        }
        context.flush()
        if let closeCode {
            state.closeCodes[closeCode, default: 0] += 1
            if phase != .ready { failReady("closed by the server with \(closeCode)") }
            if phase == .ready, !closedByBench { state.dropped += 1 }
            phase = .closed
            context.close(promise: nil)
        }
    }

    /// Reads the upgrade answer; true once it is complete and was a 101.
    private func handshake(_ buffer: inout ByteBuffer, context: ChannelHandlerContext) -> Bool {
        let end = buffer.withUnsafeReadableBytes { find(Needle.headerEnd, in: $0, from: 0) }
        guard let end else { return false }
        let head = buffer.readString(length: end + 4) ?? ""
        guard head.hasPrefix("HTTP/1.1 101") else {
            let line = head.split(separator: "\r\n").first.map(String.init) ?? head
            failReady("upgrade refused: \(line)")
            phase = .closed
            context.close(promise: nil)
            return false
        }
        phase = .authenticating
        writeText(Array(#"{"id":0,"op":"ping"}"#.utf8), context: context)
        return true
    }

    /// Handles every complete frame; returns the bytes consumed.
    private func frames(in bytes: UnsafeRawBufferPointer, now: UInt64, context: ChannelHandlerContext, close: inout Int?) -> Int {
        var offset = 0
        let count = bytes.count
        while count - offset >= 2, close == nil {
            let first = bytes[offset]
            let second = bytes[offset + 1]
            var length = Int(second & 0x7F)
            var header = 2
            if length == 126 {
                guard count - offset >= 4 else { break }
                length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
                header = 4
            } else if length == 127 {
                guard count - offset >= 10 else { break }
                length = 0
                for k in 2..<10 { length = length << 8 | Int(bytes[offset + k]) }
                header = 10
            }
            if second & 0x80 != 0 { header += 4 }  // servers do not mask; skip the key if one did
            guard count - offset >= header + length else { break }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[(offset + header)..<(offset + header + length)])
            switch first & 0x0F {
            case 0x1:
                if first & 0x80 == 0 { state.noteError("fragmented text frame (not expected from the server)") }
                text(payload, now: now)
            case 0x8:
                close = payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : 1005
            case 0x9:
                writeFrame(opcode: 0xA, payload: payload, context: context)
            default:
                break
            }
            offset += header + length
        }
        return offset
    }

    /// One text frame: a reply to an op, a message event, or anything else.
    private func text(_ payload: UnsafeRawBufferPointer, now: UInt64) {
        if payload.starts(with: Needle.replyStart) {
            reply(payload, now: now)
            return
        }
        guard find(Needle.message, in: payload, from: 0) != nil,
            let seqAt = find(Needle.seq, in: payload, from: 0), let seq = number(in: payload, at: seqAt + Needle.seq.count),
            let stampAt = find(Needle.stamp, in: payload, from: 0), let sent = number(in: payload, at: stampAt + Needle.stamp.count)
        else {
            state.otherEvents += 1
            return
        }
        state.counters.delivered += 1
        if room >= 0 { state.countDelivery(room: room, seq: seq) }
        if seq <= lastSeq { state.counters.duplicates += 1 } else { lastSeq = seq }
        if sent >= state.warmupEnd, sent < state.sendEnd {
            _ = state.latency.record(max(1, now &- sent))
        }
    }

    private func reply(_ payload: UnsafeRawBufferPointer, now: UInt64) {
        let id = number(in: payload, at: Needle.replyStart.count) ?? 0
        let ok = find(Needle.okTrue, in: payload, from: 0) != nil
        if id == 0 {
            // The first op's reply: authenticated and subscribed.
            guard ok else {
                failReady("ping refused: " + String(decoding: payload.prefix(200), as: UTF8.self))
                return
            }
            phase = .ready
            readyDone = true
            state.clients.append(self)
            _ = state.connectLatency.record(max(1, now &- started))
            ready.succeed()
            return
        }
        guard ok else {
            state.counters.sendErrors += 1
            state.noteError(String(decoding: payload, as: UTF8.self))
            return
        }
        state.counters.acked += 1
        state.counters.expected += peers
        if room >= 0, let seqAt = find(Needle.seq, in: payload, from: 0), let seq = number(in: payload, at: seqAt + Needle.seq.count) {
            state.countAck(room: room, seq: seq)
        }
        if let stampAt = find(Needle.stamp, in: payload, from: 0), let sent = number(in: payload, at: stampAt + Needle.stamp.count),
            sent >= state.warmupEnd, sent < state.sendEnd
        {
            _ = state.ackLatency.record(max(1, now &- sent))
        }
    }

    // MARK: Writing (masked with a zero key: valid, and the payload stays as is)

    /// `{"op":"send","conv":C,"text":"t=<now>","id":N}`.
    func sendMessage(now: UInt64) {
        guard phase == .ready, let context else { return }
        let id = nextID
        nextID += 1
        var payload = sendPrefix
        payload.reserveCapacity(sendPrefix.count + 40)
        appendDigits(now, to: &payload)
        payload.append(contentsOf: #"","id":"#.utf8)
        appendDigits(UInt64(id), to: &payload)
        payload.append(UInt8(ascii: "}"))
        writeText(payload, context: context)
        context.flush()
    }

    private func writeText(_ payload: [UInt8], context: ChannelHandlerContext) {
        payload.withUnsafeBytes { writeFrame(opcode: 0x1, payload: $0, context: context) }
        context.flush()
    }

    private func writeFrame(opcode: UInt8, payload: UnsafeRawBufferPointer, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: payload.count + 14)
        buffer.writeInteger(0x80 | opcode)
        if payload.count < 126 {
            buffer.writeInteger(UInt8(0x80 | payload.count))
        } else if payload.count <= 0xFFFF {
            buffer.writeInteger(UInt8(0x80 | 126))
            buffer.writeInteger(UInt16(payload.count))
        } else {
            buffer.writeInteger(UInt8(0x80 | 127))
            buffer.writeInteger(UInt64(payload.count))
        }
        buffer.writeInteger(UInt32(0))  // masking key 0
        buffer.writeBytes(payload)
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    func closeFromBench() {
        guard let context, phase != .closed else { return }
        closedByBench = true
        phase = .closed
        let code: [UInt8] = [0x03, 0xE8]  // 1000
        code.withUnsafeBytes { writeFrame(opcode: 0x8, payload: $0, context: context) }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .milliseconds(300)) { channel.close(promise: nil) }
    }
}

// MARK: - Byte helpers

@inline(__always)
fileprivate func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer, from start: Int) -> Int? {
    guard let base = haystack.baseAddress, haystack.count - start >= needle.count, let first = needle.first else { return nil }
    return needle.withUnsafeBytes { pattern -> Int? in
        let last = haystack.count - pattern.count
        var index = start
        while index <= last {
            guard let hit = memchr(base + index, Int32(first), last - index + 1) else { return nil }
            let position = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(base + position, pattern.baseAddress!, pattern.count) == 0 { return position }
            index = position + 1
        }
        return nil
    }
}

/// The decimal number at `index` (nil when there is no digit).
@inline(__always)
fileprivate func number(in bytes: UnsafeRawBufferPointer, at index: Int) -> UInt64? {
    var value: UInt64 = 0
    var position = index
    while position < bytes.count {
        let byte = bytes[position]
        guard byte >= 48, byte <= 57 else { break }
        value = value &* 10 &+ UInt64(byte - 48)
        position += 1
    }
    return position > index ? value : nil
}

@inline(__always)
fileprivate func appendDigits(_ value: UInt64, to bytes: inout [UInt8]) {
    if value == 0 {
        bytes.append(48)
        return
    }
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
    var rest = value
    withUnsafeMutableBytes(of: &digits) { raw in
        while rest > 0 {
            raw[count] = UInt8(48 + rest % 10)
            rest /= 10
            count += 1
        }
        for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(raw[index]) }
    }
}

/// Microseconds of CLOCK_MONOTONIC (shared by every client of the process).
@inline(__always)
fileprivate func monotonicMicros() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1000
}

fileprivate func sleep(until deadline: UInt64) async {
    let now = monotonicMicros()
    guard deadline > now else { return }
    try? await Task.sleep(nanoseconds: (deadline - now) * 1000)
}

fileprivate func seconds(since start: UInt64) -> Double { round3(Double(monotonicMicros() - start) / 1e6) }
fileprivate func ms(_ micros: UInt64) -> Double { round3(Double(micros) / 1000) }
fileprivate func round3(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
fileprivate func round1(_ value: Double) -> Double { (value * 10).rounded() / 10 }
fileprivate func format(_ value: Double) -> String {
    value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)
}

/// Raises the soft open-file limit to the hard one.
fileprivate func raiseFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}

fileprivate struct LiveBenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A counter shared by tasks.
fileprivate final class AtomicCounter: Sendable {
    private let value = Atomic<Int>(0)

    /// The value before the increment.
    func next() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
}

/// A value behind a lock, shared by tasks.
fileprivate final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}

// MARK: - Endpoints, users

/// host:port of a base URL (http://, ws://; no TLS).
fileprivate struct Endpoint: Sendable {
    var host: String
    var port: Int

    init(_ text: String) throws {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        for scheme in ["http://", "ws://"] where rest.hasPrefix(scheme) { rest = rest.dropFirst(scheme.count) }
        guard !rest.hasPrefix("https://"), !rest.hasPrefix("wss://") else { throw ValidationError("TLS URLs are not supported: \(text)") }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        let parts = rest.split(separator: ":")
        guard let host = parts.first, !host.isEmpty else { throw ValidationError("bad URL: \(text)") }
        self.host = String(host)
        self.port = parts.count > 1 ? Int(parts[1]) ?? 80 : 80
    }
}

fileprivate struct BenchUser: Sendable {
    var name: String
    var id: String
    var access: String
    var refresh: String

    /// The access token's `exp` (seconds).
    var expiry: Int? {
        let parts = access.split(separator: ".")
        guard parts.count == 3 else { return nil }
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return (object["exp"] as? NSNumber)?.intValue
    }

    init(name: String, id: String, access: String, refresh: String) {
        self.name = name
        self.id = id
        self.access = access
        self.refresh = refresh
    }

    init?(name: String, reply: HTTPResult) {
        guard let json = reply.json, let user = json["user"] as? [String: Any], let id = user["id"] as? String,
            let access = json["accessToken"] as? String
        else { return nil }
        self.init(name: name, id: id, access: access, refresh: json["refreshToken"] as? String ?? "")
    }
}

/// Users and tokens kept between runs: one `name id access refresh` line each.
fileprivate struct UserCache {
    let path: String?
    var users: [String: BenchUser] = [:]

    init(path: String?) { self.path = path }

    mutating func load() {
        guard let path, let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "\t").map(String.init)
            guard fields.count == 4 else { continue }
            users[fields[0]] = BenchUser(name: fields[0], id: fields[1], access: fields[2], refresh: fields[3])
        }
    }

    func save() {
        guard let path else { return }
        let text = users.values.sorted { $0.name < $1.name }.map { "\($0.name)\t\($0.id)\t\($0.access)\t\($0.refresh)\n" }.joined()
        try? text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

// MARK: - Processes

fileprivate struct ProcSample: Sendable {
    var cpuTicks: Int
    var rssKB: Int
}

/// A process whose CPU (utime + stime) and RSS are sampled from /proc.
fileprivate struct ProcessWatch: Sendable {
    var name: String
    var pid: Int32

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    static func parse(_ text: String?) throws -> [ProcessWatch] {
        guard let text, !text.isEmpty else { return [] }
        return try text.split(separator: ",").map { part in
            let pieces = part.split(separator: "=")
            guard pieces.count == 2, let pid = Int32(pieces[1]) else { throw ValidationError("--pids takes name=pid,...") }
            return ProcessWatch(name: String(pieces[0]), pid: pid)
        }
    }

    func sample() -> ProcSample? { Self.sample(pid: pid) }

    /// Busy ticks of the whole machine (all cores): user + nice + system + irq + softirq + steal.
    static func machineTicks() -> Int? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { Int($0) }
        guard fields.count >= 8 else { return nil }
        return fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
    }

    static func selfSample() -> ProcSample? { sample(pid: getpid()) }

    static func sample(pid: Int32) -> ProcSample? {
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
        return ProcSample(cpuTicks: user + system, rssKB: rss)
    }
}

// MARK: - A small keep-alive HTTP/1.1 client for provisioning

fileprivate struct HTTPResult: Sendable {
    var status: Int
    var body: [UInt8]
    var retryAfter: Int?

    var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] }
    var text: String { String(decoding: body.prefix(300), as: UTF8.self) }
}

/// Collects responses in order; requests are written through it.
fileprivate final class HTTPCollector: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private var waiting = CircularBuffer<EventLoopPromise<HTTPResult>>()
    private var status = 0
    private var retryAfter: Int?
    private var body: [UInt8] = []
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func send(_ head: HTTPRequestHead, body: ByteBuffer?, promise: EventLoopPromise<HTTPResult>) {
        guard let context else {
            promise.fail(LiveBenchError("HTTP connection closed"))
            return
        }
        waiting.append(promise)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            retryAfter = head.headers.first(name: "retry-after").flatMap { Int($0) }
            body = []
        case .body(let part):
            body.append(contentsOf: part.readableBytesView)
        case .end:
            waiting.popFirst()?.succeed(HTTPResult(status: status, body: body, retryAfter: retryAfter))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        while let promise = waiting.popFirst() { promise.fail(LiveBenchError("HTTP connection closed")) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

fileprivate final class HTTPConnection: Sendable {
    let channel: any Channel
    let collector: HTTPCollector
    let endpoint: Endpoint

    private init(channel: any Channel, collector: HTTPCollector, endpoint: Endpoint) {
        self.channel = channel
        self.collector = collector
        self.endpoint = endpoint
    }

    static func connect(_ endpoint: Endpoint, group: any EventLoopGroup) async throws -> HTTPConnection {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(HTTPCollector())
                }
            }
            .connect(host: endpoint.host, port: endpoint.port).get()
        let collector = try await channel.pipeline.handler(type: HTTPCollector.self).get()
        return HTTPConnection(channel: channel, collector: collector, endpoint: endpoint)
    }

    func request(_ method: HTTPMethod, _ path: String, json: [String: Any]? = nil, token: String? = nil) async throws -> HTTPResult {
        let body = try json.map { try JSONSerialization.data(withJSONObject: $0) }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(endpoint.host):\(endpoint.port)")
        headers.add(name: "Content-Length", value: String(body?.count ?? 0))
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
        let promise = channel.eventLoop.makePromise(of: HTTPResult.self)
        let buffer = body.map { ByteBuffer(bytes: $0) }
        let collector = self.collector
        channel.eventLoop.execute { collector.send(head, body: buffer, promise: promise) }
        return try await promise.futureResult.get()
    }

    func close() async {
        try? await channel.close()
    }
}

/// Keep-alive connections over the endpoints; jobs run on `concurrency` workers.
fileprivate struct HTTPPool: Sendable {
    let endpoints: [Endpoint]
    let group: any EventLoopGroup

    func withConnection<T: Sendable>(_ body: (HTTPConnection) async throws -> T) async throws -> T {
        let connection = try await HTTPConnection.connect(endpoints[0], group: group)
        do {
            let value = try await body(connection)
            await connection.close()
            return value
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Runs `body(connection, job)` for jobs 0..<count; a failed job is
    /// retried once on a fresh connection, a second failure fails the run.
    func parallel(_ count: Int, concurrency: Int, _ body: @escaping @Sendable (HTTPConnection, Int) async throws -> Void) async throws {
        guard count > 0 else { return }
        let next = AtomicCounter()
        let endpoints = self.endpoints
        let group = self.group
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for worker in 0..<min(concurrency, count) {
                tasks.addTask {
                    let endpoint = endpoints[worker % endpoints.count]
                    var connection = try await HTTPConnection.connect(endpoint, group: group)
                    while true {
                        let job = next.next()
                        guard job < count else { break }
                        do {
                            try await body(connection, job)
                        } catch {
                            await connection.close()
                            connection = try await HTTPConnection.connect(endpoint, group: group)
                            try await body(connection, job)
                        }
                    }
                    await connection.close()
                }
            }
            try await tasks.waitForAll()
        }
    }

    func close() async {}
}

// MARK: - Ordered JSON output

fileprivate indirect enum JSONValue: CustomStringConvertible {
    case int(Int)
    case double(Double)
    case string(String)
    case object(JSONObject)

    var description: String {
        switch self {
        case .int(let value): return String(value)
        case .double(let value):
            return value.isFinite ? (value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)) : "null"
        case .string(let value):
            let data = (try? JSONSerialization.data(withJSONObject: [value], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
            return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
        case .object(let object): return object.serialized()
        }
    }
}

/// A JSON object that keeps its keys in insertion order.
fileprivate struct JSONObject {
    private(set) var entries: [(String, JSONValue)] = []

    init(_ entries: [(String, JSONValue)] = []) { self.entries = entries }

    subscript(key: String) -> JSONValue? {
        get { entries.first { $0.0 == key }?.1 }
        set {
            if let index = entries.firstIndex(where: { $0.0 == key }) {
                if let newValue { entries[index].1 = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                entries.append((key, newValue))
            }
        }
    }

    func serialized() -> String {
        "{" + entries.map { JSONValue.string($0.0).description + ":" + $0.1.description }.joined(separator: ",") + "}"
    }
}
