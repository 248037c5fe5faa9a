/// The connection scenarios: `--idle` (memory per authenticated idle
/// connection) and `--storm` (connections per second).
extension LiveBench {
    func runIdle(count: Int, storm: Bool) async throws {
        let command = self.command
        let http = HTTPPool(endpoints: endpoints, group: group)
        let users = try await provisionUsers(count, http: http)
        let before = watched.map { $0.sample() }
        let start = monotonicMicros()
        let connected = await connectAll(
            count: count, users: users, rate: storm ? 0 : command.connectRate,
            concurrency: storm ? max(command.connectConcurrency, 1000) : command.connectConcurrency
        ) { _ in (nil, -1, 0) }
        let connectSeconds = seconds(since: start)
        log(describe(connected, of: count, seconds: connectSeconds, perSecond: true))
        if !storm { await sleep(until: monotonicMicros() + UInt64(command.settle * 1e6)) }
        let after = watched.map { $0.sample() }
        let totals = try await measurements()

        var report = JSONObject()
        report["mode"] = .string(storm ? "storm" : "idle")
        if let label = command.label { report["label"] = .string(label) }
        report["connections"] = .int(count)
        report["connected"] = .int(connected.ok)
        report["connect_failures"] = .int(connected.failed)
        report["connect_s"] = .double(round3(connectSeconds))
        report["connections_per_s"] = .double((Double(connected.ok) / connectSeconds).rounded())
        addPercentiles(&report, prefix: "connect_", totals.connectLatency, only: [50, 99])
        let nodeDelta = connectionProcessReport(&report, before: before, after: after)
        if connected.ok > 0, watched.contains(where: { $0.name.hasPrefix("node") }) {
            report["node_kb_per_connection"] = .double(round3(Double(nodeDelta) / Double(connected.ok)))
        }
        if let error = connected.firstError { report["first_error"] = .string(error) }
        printResult(report.serialized())
        log("\(storm ? "storm" : "idle"): \(report.serialized())")
        if command.hold > 0 { await sleep(until: monotonicMicros() + UInt64(command.hold * 1e6)) }
        let dropped = try await measurements().dropped
        if dropped > 0 { log("\(dropped) connections dropped while held") }
        await closeAll()
    }
}
