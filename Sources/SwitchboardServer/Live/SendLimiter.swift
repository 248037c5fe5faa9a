import Dispatch
import Synchronization
import SwitchboardCore

/// Per-user send budget of this node's WebSocket sessions: a token bucket
/// per user in memory, so a send stays one Redis round trip.
final class SendLimiter: Sendable {
    private let buckets = Mutex<[String: TokenBucket]>([:])
    let burst: Double
    let refillPerSecond: Double
    /// Seconds of a monotonic clock (injected in tests).
    let now: @Sendable () -> Double

    init(burst: Int, refillPerSecond: Double, now: @escaping @Sendable () -> Double = SendLimiter.uptime) {
        self.burst = Double(burst)
        self.refillPerSecond = refillPerSecond
        self.now = now
    }

    static func uptime() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Takes one send from the user's budget; when refused, the seconds until one is available.
    func take(user: String) -> (allowed: Bool, retryAfter: Double) {
        let now = self.now()
        return buckets.withLock { buckets in
            var bucket = buckets[user] ?? TokenBucket(capacity: burst, refillPerSecond: refillPerSecond, now: now)
            let result = bucket.take(now: now)
            buckets[user] = bucket
            return result
        }
    }

    /// Drops buckets that refilled completely (the same as no bucket), so the map stays small.
    func prune() {
        let now = self.now()
        buckets.withLock { buckets in
            buckets = buckets.filter { _, bucket in
                var copy = bucket
                return copy.take(0, now: now).allowed && copy.tokens < copy.capacity
            }
        }
    }

    /// Users with a bucket (for tests and metrics).
    var tracked: Int { buckets.withLock { $0.count } }
}
