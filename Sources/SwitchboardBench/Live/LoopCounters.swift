/// Counters of one event loop's clients (cheap to gather while the run goes on).
struct LoopCounters: Sendable {
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
