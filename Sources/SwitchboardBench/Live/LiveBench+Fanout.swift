import NIOCore
import NIOHTTP1

/// The fan-out scenario: clients in conversations, a fixed total send rate,
/// the delay of every delivery.
extension LiveBench {
    /// What is sampled at both edges of the measured window.
    struct WindowEdge {
        var counters: LoopCounters
        /// Of `watched`, in order.
        var processes: [ProcessWatch.Sample?]
        var bench: ProcessWatch.Sample?
        var machineTicks: Int?
        /// The nodes' fan-out histograms (`nodeHistogramNames`), summed over the endpoints.
        var nodeHistograms: [String: NodeHistogram] = [:]
    }

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
        log(describe(connected, of: clientCount, seconds: connectSeconds))
        guard connected.ok > 0 else { throw BenchError("no client connected") }

        // Send: warmup, then the measured window, on every loop.
        let start = monotonicMicros() + 20_000
        let warmupEnd = start + UInt64(command.warmup * 1e6)
        let sendEnd = warmupEnd + UInt64(command.duration * 1e6)
        try await startSending(start: start, warmupEnd: warmupEnd, end: sendEnd)
        log("sending \(format(command.rate)) msg/s: \(format(command.warmup)) s warmup, \(format(command.duration)) s measured")
        await sleep(until: warmupEnd)
        let (first, last, peakRSS) = try await measureWindow(until: sendEnd)
        let drainSeconds = try await drain()
        let totals = try await measurements()

        let report = fanoutReport(
            totals: totals, window: (first, last), peakRSS: peakRSS, connected: connected, connectSeconds: connectSeconds,
            drainSeconds: drainSeconds)
        printResult(report.serialized())
        logSummary(report, totals: totals, connected: connected, connectSeconds: connectSeconds, drainSeconds: drainSeconds)

        await closeAll()
        if !command.keep {
            _ = try? await http.parallel(rooms.count, concurrency: command.httpConcurrency) { connection, index in
                let owner = users[index * roomSize]
                _ = try await connection.request(.DELETE, "/api/v1/conversations/\(rooms[index])", token: owner.access)
            }
        }
    }

    /// Every loop sends its share of `--rate` (by its ready clients) from `start` to `end`.
    private func startSending(start: UInt64, warmupEnd: UInt64, end: UInt64) async throws {
        let readyCounts = try await gather { $0.readyClients }
        let totalReady = readyCounts.reduce(0, +)
        for (state, ready) in zip(loops, readyCounts) {
            let share = command.rate * Double(ready) / Double(max(totalReady, 1))
            state.loop.execute { state.startSending(start: start, warmupEnd: warmupEnd, end: end, rate: share) }
        }
    }

    /// Samples the edges of the measured window, and the watched processes'
    /// peak RSS every second in between.
    private func measureWindow(until end: UInt64) async throws -> (WindowEdge, WindowEdge, peakRSS: [Int]) {
        var first = WindowEdge(
            counters: try await counters(), processes: watched.map { $0.sample() }, bench: ProcessWatch.selfSample(),
            machineTicks: ProcessWatch.machineTicks(), nodeHistograms: await scrapeNodeHistograms())
        var peakRSS = first.processes.map { $0?.rssKB ?? 0 }
        while monotonicMicros() < end {
            await sleep(until: min(end, monotonicMicros() + 1_000_000))
            for (index, watch) in watched.enumerated() { peakRSS[index] = max(peakRSS[index], watch.sample()?.rssKB ?? 0) }
        }
        let last = WindowEdge(
            counters: try await counters(), processes: watched.map { $0.sample() }, bench: ProcessWatch.selfSample(),
            machineTicks: ProcessWatch.machineTicks(), nodeHistograms: await scrapeNodeHistograms())
        for (index, sample) in last.processes.enumerated() { peakRSS[index] = max(peakRSS[index], sample?.rssKB ?? 0) }
        if first.processes.count != last.processes.count { first.processes = last.processes }
        return (first, last, peakRSS)
    }

    /// Waits until every acknowledged message reached every member, or
    /// `--drain` seconds passed; returns the seconds it took. With failed
    /// sends the counts cannot tell (a failed send may still have been
    /// stored): then it waits for 2 s without a new delivery.
    private func drain() async throws -> Double {
        let drainStart = monotonicMicros()
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
        return seconds(since: drainStart)
    }
}
