import RedisClient

/// Token buckets in Redis, one Lua script for every limit (`lua/rate_limit.lua`).
public struct RateLimiter: Sendable {
    /// A bucket's shape.
    public struct Rule: Sendable, Hashable {
        public var capacity: Double
        public var refillPerSecond: Double
        public init(capacity: Double, refillPerSecond: Double) {
            self.capacity = capacity
            self.refillPerSecond = refillPerSecond
        }
        /// `count` per minute, all of them usable at once.
        public static func perMinute(_ count: Int) -> Rule {
            Rule(capacity: Double(max(count, 1)), refillPerSecond: Double(max(count, 1)) / 60)
        }
    }

    /// The outcome of one take.
    public struct Decision: Sendable, Hashable {
        public var allowed: Bool
        public var retryAfterMilliseconds: Int
        public var remaining: Int
    }

    let scripts: RedisScriptRegistry
    let keys: KeyLayout
    let clock: WallClock

    /// Takes `cost` tokens from `bucket`.
    public func take(_ bucket: String, rule: Rule, cost: Int = 1) async throws(SwitchboardError) -> Decision {
        let reply = try await mapRedis {
            try await scripts.evaluate(
                "rate_limit", keys: [keys.rateLimit(bucket)],
                arguments: [String(rule.capacity), String(rule.refillPerSecond), clock.milliseconds, cost])
        }
        let values = reply.array ?? []
        return Decision(
            allowed: values.first?.int == 1,
            retryAfterMilliseconds: values.count > 1 ? values[1].int ?? 1000 : 1000,
            remaining: values.count > 2 ? values[2].int ?? 0 : 0)
    }

    /// Takes a token or throws `rate_limited` with the seconds to wait.
    public func enforce(_ bucket: String, rule: Rule, cost: Int = 1) async throws(SwitchboardError) {
        let decision = try await take(bucket, rule: rule, cost: cost)
        if !decision.allowed {
            let seconds = max(1, (decision.retryAfterMilliseconds + 999) / 1000)
            throw SwitchboardError(.rateLimited, "too many requests, retry in \(seconds) s", retryAfter: seconds)
        }
    }
}
