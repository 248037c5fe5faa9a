import Synchronization

/// Messages stored through this node since it started; the heartbeat turns
/// it into the node's messages per second (`GET /api/v1/server/stats`).
final class MessageTally: Sendable {
    private let count = Atomic<Int>(0)
    private let last = Mutex<(count: Int, at: Int)?>(nil)

    func increment() { count.wrappingAdd(1, ordering: .relaxed) }

    /// Messages per second since the previous call (0 on the first).
    func rate(now milliseconds: Int) -> Double {
        let current = count.load(ordering: .relaxed)
        return last.withLock { previous in
            defer { previous = (current, milliseconds) }
            guard let previous, milliseconds > previous.at else { return 0 }
            return Double(current - previous.count) * 1000 / Double(milliseconds - previous.at)
        }
    }
}
