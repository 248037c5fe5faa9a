import Foundation
import NIOCore
import NIOHTTP1

/// A Prometheus histogram scraped from the nodes' `/metrics`: cumulative
/// bucket counts by upper bound (seconds), summed over the nodes. The
/// difference of two scrapes is the histogram of what happened in between.
struct NodeHistogram: Sendable {
    /// Upper bound in seconds (`+Inf` as `.infinity`) → cumulative count.
    var buckets: [Double: Double] = [:]

    var count: Double { buckets[.infinity] ?? buckets.values.max() ?? 0 }

    /// Adds the `<name>_bucket{le="…"} N` lines of one exposition.
    mutating func add(exposition text: String, name: String) {
        let prefix = name + "_bucket{"
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            guard let leStart = line.range(of: "le=\""),
                let leEnd = line[leStart.upperBound...].firstIndex(of: "\""),
                let space = line.lastIndex(of: " "),
                let value = Double(line[line.index(after: space)...])
            else { continue }
            let bound = line[leStart.upperBound..<leEnd]
            let upper = bound == "+Inf" ? Double.infinity : Double(bound)
            guard let upper else { continue }
            buckets[upper, default: 0] += value
        }
    }

    /// `self` minus an earlier scrape.
    func since(_ earlier: NodeHistogram) -> NodeHistogram {
        NodeHistogram(
            buckets: buckets.mapValues { $0 }.reduce(into: [:]) { result, entry in
                result[entry.key] = max(0, entry.value - (earlier.buckets[entry.key] ?? 0))
            })
    }

    /// The value at a percentile (0–100) in seconds, interpolated linearly
    /// inside its bucket as Prometheus' `histogram_quantile` does; nil when empty.
    func percentile(_ p: Double) -> Double? {
        let total = count
        guard total > 0 else { return nil }
        let rank = total * p / 100
        var lower = 0.0
        var below = 0.0
        for upper in buckets.keys.sorted() {
            let cumulative = buckets[upper] ?? 0
            if cumulative >= rank {
                if upper == .infinity { return lower }
                let inBucket = cumulative - below
                return inBucket > 0 ? lower + (upper - lower) * (rank - below) / inBucket : upper
            }
            lower = upper
            below = cumulative
        }
        return lower
    }
}

extension LiveBench {
    /// The node-side histograms the fan-out report puts beside the clients'.
    static let nodeHistogramNames = [
        "switchboard_fanout_node_delay_seconds",  // pub/sub event received → flushed, on the node
        "switchboard_fanout_delay_seconds",  // message ts (sending node) → written, on the node
    ]

    /// Scrapes `/metrics` of every endpoint once (nil for a name no node has).
    func scrapeNodeHistograms() async -> [String: NodeHistogram] {
        var result: [String: NodeHistogram] = [:]
        for endpoint in endpoints {
            guard let connection = try? await HTTPConnection.connect(endpoint, group: group) else { continue }
            if let response = try? await connection.request(.GET, "/metrics"), response.status == 200 {
                let text = String(decoding: response.body, as: UTF8.self)
                for name in Self.nodeHistogramNames { result[name, default: NodeHistogram()].add(exposition: text, name: name) }
            }
            await connection.close()
        }
        return result
    }
}
