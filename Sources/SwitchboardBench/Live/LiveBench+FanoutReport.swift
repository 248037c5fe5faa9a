import Histogram

/// The fan-out scenario's JSON line and summary.
extension LiveBench {
    func fanoutReport(
        totals: LoopMeasurements, window edges: (WindowEdge, WindowEdge), peakRSS: [Int], connected: ConnectResult,
        connectSeconds: Double, drainSeconds: Double
    ) -> JSONObject {
        let clientCount = command.clients
        let roomSize = command.roomSize
        let (first, last) = edges
        let windowDeliveries = last.counters.delivered - first.counters.delivered
        let window = command.duration
        var report = JSONObject()
        report["mode"] = .string("fanout")
        if let label = command.label { report["label"] = .string(label) }
        report["clients"] = .int(clientCount)
        report["connected"] = .int(connected.ok)
        report["rooms"] = .int((clientCount + roomSize - 1) / roomSize)
        report["room_size"] = .int(roomSize)
        report["kind"] = .string(command.kind)
        report["rate"] = .double(command.rate)
        report["duration_s"] = .double(command.duration)
        report["warmup_s"] = .double(command.warmup)
        report["sent"] = .int(totals.counters.sent)
        report["acked"] = .int(totals.counters.acked)
        report["send_errors"] = .int(totals.counters.sendErrors)
        report["expected"] = .int(totals.counters.expected)
        report["delivered"] = .int(totals.counters.delivered)
        let accounting = totals.accounting { room in min(roomSize, clientCount - room * roomSize) - 1 }
        report["lost"] = .int(accounting.lost)
        report["duplicates"] = .int(totals.counters.duplicates)
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
        let nodeCPU = processReport(&report, start: first.processes, end: last.processes, peak: peakRSS, window: window)
        if nodeCPU > 0, windowDeliveries > 0 {
            report["node_cpu_us_per_delivery"] = .double(round3(nodeCPU * 1e6 / Double(windowDeliveries)))
        }
        machineReport(&report, first: first, last: last, window: window)
        nodeHistogramReport(&report, first: first, last: last)
        return report
    }

    /// The nodes' own view of fan-out in the window, beside the clients':
    /// `node_fanout_*` (pub/sub event received → flushed, per loop) and
    /// `node_e2e_*` (message ts → written), p50 / p99 in ms. A client-side
    /// p99 far above both means the delay is in the generator or the kernel.
    private func nodeHistogramReport(_ report: inout JSONObject, first: WindowEdge, last: WindowEdge) {
        let names = [("node_fanout_", Self.nodeHistogramNames[0]), ("node_e2e_", Self.nodeHistogramNames[1])]
        for (prefix, name) in names {
            guard let end = last.nodeHistograms[name] else { continue }
            let window = end.since(first.nodeHistograms[name] ?? NodeHistogram())
            guard window.count > 0 else { continue }
            report[prefix + "count"] = .int(Int(window.count))
            for (p, key) in [(50.0, "p50_ms"), (99.0, "p99_ms")] {
                if let seconds = window.percentile(p) { report[prefix + key] = .double(round3(seconds * 1000)) }
            }
        }
    }

    /// The bench's own CPU in the window, the machine's, and what other jobs took (% of one core).
    private func machineReport(_ report: inout JSONObject, first: WindowEdge, last: WindowEdge, window: Double) {
        guard let benchStart = first.bench, let benchEnd = last.bench else { return }
        let benchCPU = Double(benchEnd.cpuTicks - benchStart.cpuTicks) / ProcessWatch.ticksPerSecond
        report["bench_cpu_pct"] = .double(round1(benchCPU / window * 100))
        guard let machineStart = first.machineTicks, let machineEnd = last.machineTicks else { return }
        let busy = Double(machineEnd - machineStart) / ProcessWatch.ticksPerSecond
        var watchedCPU = 0.0
        for (a, b) in zip(first.processes, last.processes) {
            if let a, let b { watchedCPU += Double(b.cpuTicks - a.cpuTicks) / ProcessWatch.ticksPerSecond }
        }
        report["machine_busy_pct"] = .double(round1(busy / window * 100))
        report["other_cpu_pct"] = .double(round1(max(0, busy - watchedCPU - benchCPU) / window * 100))
    }

    /// The human summary of a fan-out run, on stderr.
    func logSummary(_ report: JSONObject, totals: LoopMeasurements, connected: ConnectResult, connectSeconds: Double, drainSeconds: Double) {
        let field = { (key: String) in report[key].map { "\($0)" } ?? "-" }
        log(
            """
            \(command.label ?? "fanout"): \(connected.ok) clients, \(field("rooms")) rooms of \(command.roomSize), \
            \(format(command.rate)) msg/s for \(format(command.duration)) s
              sent \(totals.counters.sent), acked \(totals.counters.acked), errors \(totals.counters.sendErrors); deliveries expected \(totals.counters.expected), \
            delivered \(totals.counters.delivered), lost \(field("lost")), duplicates \(totals.counters.duplicates), dropped connections \(totals.dropped)
              sends not acknowledged but stored and delivered: \(field("unacked_stored")) (\(field("unacked_delivered")) deliveries)
              latency ms: p50 \(field("p50_ms")) p90 \(field("p90_ms")) p99 \(field("p99_ms")) p99.9 \(field("p999_ms")) \
            max \(field("max_ms")) (ack p99 \(field("ack_p99_ms")))
              on the nodes, ms: received → flushed p50 \(field("node_fanout_p50_ms")) p99 \(field("node_fanout_p99_ms")); \
            ts → written p50 \(field("node_e2e_p50_ms")) p99 \(field("node_e2e_p99_ms"))
              \(field("deliveries_per_s")) deliveries/s; node CPU µs/delivery \(field("node_cpu_us_per_delivery")); \
            connect \(format(connectSeconds)) s; drain \(format(drainSeconds)) s
            """)
    }
}
