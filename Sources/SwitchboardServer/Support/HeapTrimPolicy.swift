/// When the heartbeat hands the heap's free pages back to the kernel
/// (`MallocTuning.trim`).
///
/// `malloc_trim` walks every arena while holding its lock, and every event
/// loop that allocates meanwhile waits: trimming at every heartbeat put
/// the small scenario's p99 at 8.8 ms, against 2.8 ms without it
/// (BENCHMARKS.md, "What the heartbeat cost"). What leaves freed memory
/// behind is a change in the connections held (a connect storm, a mass
/// disconnect) or a burst of traffic that ended, so the heap is trimmed at
/// the first heartbeat after one of those, not under steady traffic.
struct HeapTrimPolicy: Sendable {
    /// Connections that must have come or gone since the last trim: at
    /// least this many, and at least `changeFraction` of the count then.
    var minimumChange = 256
    var changeFraction = 0.1
    /// Messages per second (sent through this node) above which the node
    /// counts as busy, and below which a busy node counts as quiet again.
    var busyRate = 50.0
    var quietRate = 1.0

    private(set) var connectionsAtLastTrim = 0
    private(set) var busySinceLastTrim = false

    /// Answers whether to trim now, given this beat's connection count and
    /// message rate, and remembers the trim if so.
    mutating func shouldTrim(connections: Int, messagesPerSecond: Double) -> Bool {
        if messagesPerSecond >= busyRate { busySinceLastTrim = true }
        let moved = abs(connections - connectionsAtLastTrim)
        let connectionsMoved = moved >= max(minimumChange, Int(Double(connectionsAtLastTrim) * changeFraction))
        let trafficEnded = busySinceLastTrim && messagesPerSecond < quietRate
        guard connectionsMoved || trafficEnded else { return false }
        connectionsAtLastTrim = connections
        busySinceLastTrim = false
        return true
    }
}
