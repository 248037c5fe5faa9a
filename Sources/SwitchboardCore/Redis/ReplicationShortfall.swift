import Logging
import Synchronization

/// Sends that `WAIT` could not confirm on enough replicas within the timeout:
/// counted, and logged at most once per interval so a replica that is down
/// does not flood the log with one line per message.
public final class ReplicationShortfall: Sendable {
    private struct State {
        var total = 0
        var sinceLog = 0
        var lastLog = 0
    }

    private let state = Mutex(State())
    private let logger: Logger
    private let intervalMilliseconds: Int

    public init(logger: Logger = Logger(label: "switchboard.redis"), intervalMilliseconds: Int = 10_000) {
        self.logger = logger
        self.intervalMilliseconds = intervalMilliseconds
    }

    /// Sends acknowledged with fewer replicas than asked, since start.
    public var total: Int { state.withLock { $0.total } }

    /// Records one send that reached `replicas` of `wanted` replicas.
    func record(replicas: Int, wanted: Int, now: Int) {
        let report = state.withLock { state -> Int? in
            state.total += 1
            state.sinceLog += 1
            guard state.lastLog == 0 || now - state.lastLog >= intervalMilliseconds else { return nil }
            let count = state.sinceLog
            state.sinceLog = 0
            state.lastLog = now
            return count
        }
        if let report {
            logger.warning(
                "sends acknowledged before enough replicas had them (WAIT timed out)",
                metadata: ["replicas": "\(replicas)", "wanted": "\(wanted)", "sends": "\(report)"])
        }
    }
}
