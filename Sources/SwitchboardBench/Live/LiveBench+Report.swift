import Histogram

/// Pieces of the JSON line shared by the scenarios.
extension LiveBench {
    /// p50, p90, p99, p99.9 (or `only` those) and max, in ms.
    func addPercentiles(_ report: inout JSONObject, prefix: String, _ histogram: Histogram<UInt64>, only: [Double]? = nil) {
        let all: [(Double, String)] = [(50, "p50"), (90, "p90"), (99, "p99"), (99.9, "p999")]
        for (percentile, name) in all where only?.contains(percentile) ?? true {
            report[prefix + name + "_ms"] = .double(histogram.totalCount == 0 ? 0 : ms(histogram.valueAtPercentile(percentile)))
        }
        if only == nil { report[prefix + "max_ms"] = .double(histogram.totalCount == 0 ? 0 : ms(histogram.max)) }
    }

    /// Per-process CPU and RSS over the measured window; returns node CPU seconds.
    func processReport(
        _ report: inout JSONObject, start: [ProcessWatch.Sample?], end: [ProcessWatch.Sample?], peak: [Int], window: Double
    ) -> Double {
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

    /// RSS before and after and CPU seconds of every watched process
    /// (connection scenarios); returns the RSS growth of the nodes in KB.
    func connectionProcessReport(_ report: inout JSONObject, before: [ProcessWatch.Sample?], after: [ProcessWatch.Sample?]) -> Int {
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
        return nodeDelta
    }
}
