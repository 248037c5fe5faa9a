/// Token-bucket arithmetic for limits kept in a node's memory (the same rule
/// as `lua/rate_limit.lua`, without the Redis round trip).
public struct TokenBucket: Sendable, Hashable {
    public let capacity: Double
    public let refillPerSecond: Double
    public private(set) var tokens: Double
    private var updated: Double

    public init(capacity: Double, refillPerSecond: Double, now: Double) {
        self.capacity = capacity
        self.refillPerSecond = refillPerSecond
        self.tokens = capacity
        self.updated = now
    }

    /// Lowers the tokens to at most `limit` (a shared budget elsewhere has fewer left).
    public mutating func cap(at limit: Double, now: Double) {
        _ = take(0, now: now)
        tokens = max(0, min(tokens, limit))
    }

    /// Takes `cost` tokens if there are enough; otherwise answers the seconds until there will be.
    public mutating func take(_ cost: Double = 1, now: Double) -> (allowed: Bool, retryAfter: Double) {
        if now > updated {
            tokens = min(capacity, tokens + (now - updated) * refillPerSecond)
            updated = now
        }
        if tokens >= cost {
            tokens -= cost
            return (true, 0)
        }
        return (false, (cost - tokens) / refillPerSecond)
    }
}
