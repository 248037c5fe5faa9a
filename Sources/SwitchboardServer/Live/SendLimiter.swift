import Dispatch
import SwitchboardCore
import Synchronization

/// The per-user send budget, one for every node and both transports.
///
/// Sends take from a token bucket per user in this node's memory, so a send
/// stays one Redis round trip (`send.lua`; `SendCostTests`). Every
/// `syncInterval` the node hands what its users spent to the user's shared
/// bucket in Redis (`sb:ratelimit:{send:<user>}`, `rate_limit.lua`) and
/// lowers each local bucket to what the shared one has left. So REST and the
/// WebSocket sessions of every node draw on one budget; a node may overshoot
/// it by what it accepts within one interval. (The bucket cannot live inside
/// `send.lua`: its keys share the conversation's hash tag for Cluster, and a
/// per-user key sits in another slot.)
final class SendLimiter: Sendable {
    private struct State {
        var buckets: [String: TokenBucket] = [:]
        /// Sends taken since the last sync, per user.
        var spent: [String: Int] = [:]
    }

    private let state = Mutex(State())
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
        return state.withLock { state in
            var bucket = state.buckets[user] ?? TokenBucket(capacity: burst, refillPerSecond: refillPerSecond, now: now)
            let result = bucket.take(now: now)
            state.buckets[user] = bucket
            if result.allowed { state.spent[user, default: 0] += 1 }
            return result
        }
    }

    /// Takes one send or throws `rate_limited` (REST).
    func enforce(user: String) throws(SwitchboardError) {
        let token = take(user: user)
        guard token.allowed else {
            let seconds = max(1, Int(token.retryAfter.rounded(.up)))
            throw SwitchboardError(.rateLimited, "sending too fast, retry in \(seconds) s", retryAfter: seconds)
        }
    }

    /// Hands the sends spent since the last sync to the users' shared
    /// buckets in Redis and lowers the local ones to what those have left.
    /// Users with a local bucket that is not full are synced too, so what
    /// other nodes spent reaches this one.
    func sync(with limiter: RateLimiter) async {
        let now = self.now()
        let work: [(String, Int)] = state.withLock { state in
            let spent = state.spent
            state.spent = [:]
            var users = spent.map { ($0.key, $0.value) }
            for (user, bucket) in state.buckets where spent[user] == nil {
                var copy = bucket
                _ = copy.take(0, now: now)
                if copy.tokens < copy.capacity { users.append((user, 0)) }
            }
            return users
        }
        guard !work.isEmpty else { return }
        let rule = RateLimiter.Rule(capacity: burst, refillPerSecond: refillPerSecond)
        let remaining = await withTaskGroup(of: (String, Double?).self) { group in
            for (user, spent) in work {
                group.addTask {
                    let bucket = "send:\(user)"
                    let cost = min(spent, Int(rule.capacity))
                    guard var decision = try? await limiter.take(bucket, rule: rule, cost: cost) else { return (user, nil) }
                    if !decision.allowed, decision.remaining > 0 {
                        // Fewer left than were spent here: the shared budget is used up.
                        decision = (try? await limiter.take(bucket, rule: rule, cost: decision.remaining)) ?? decision
                        return (user, 0)
                    }
                    return (user, decision.allowed ? Double(decision.remaining) : 0)
                }
            }
            var all: [(String, Double)] = []
            for await (user, left) in group { if let left { all.append((user, left)) } }
            return all
        }
        let later = self.now()
        state.withLock { state in
            for (user, left) in remaining {
                state.buckets[user]?.cap(at: left, now: later)
            }
        }
    }

    /// Drops buckets that refilled completely (the same as no bucket), so the map stays small.
    func prune() {
        let now = self.now()
        state.withLock { state in
            state.buckets = state.buckets.filter { _, bucket in
                var copy = bucket
                return copy.take(0, now: now).allowed && copy.tokens < copy.capacity
            }
        }
    }

    /// Users with a bucket (for tests and metrics).
    var tracked: Int { state.withLock { $0.buckets.count } }

    /// The tokens a user's local bucket holds now (tests).
    func tokens(of user: String) -> Double {
        let now = self.now()
        return state.withLock { state in
            guard var bucket = state.buckets[user] else { return burst }
            _ = bucket.take(0, now: now)
            return bucket.tokens
        }
    }
}
