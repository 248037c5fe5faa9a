import Logging
import ServiceLifecycle
import SwitchboardCore

/// Keeps the node's send budgets in step with the users' shared buckets in
/// Redis (`SendLimiter.sync`), every `limits.sendSyncInterval` seconds.
final class SendBudgetSync: Service {
    let limiter: SendLimiter
    let rateLimiter: RateLimiter
    let interval: Double

    init(limiter: SendLimiter, rateLimiter: RateLimiter, interval: Double) {
        self.limiter = limiter
        self.rateLimiter = rateLimiter
        self.interval = interval
    }

    func run() async throws {
        let nanoseconds = UInt64(max(0.01, interval) * 1e9)
        let (limiter, rateLimiter) = (self.limiter, self.rateLimiter)
        // A graceful shutdown ends the wait at once (the interval may be long).
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(nanoseconds: nanoseconds)
                await limiter.sync(with: rateLimiter)
            }
        }
    }
}
