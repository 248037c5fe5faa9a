import Synchronization
import Testing

@testable import SwitchboardServer

/// The per-user send budget of a node's sessions, on an injected clock.
@Suite("Send limiter")
struct SendLimiterTests {
    final class Clock: Sendable {
        let seconds = Mutex<Double>(100)
        func advance(_ by: Double) { seconds.withLock { $0 += by } }
        var now: Double { seconds.withLock { $0 } }
    }

    @Test func burstThenRefill() {
        let clock = Clock()
        let limiter = SendLimiter(burst: 3, refillPerSecond: 2, now: { clock.now })
        for _ in 0..<3 { #expect(limiter.take(user: "u").allowed) }
        let refused = limiter.take(user: "u")
        #expect(!refused.allowed)
        #expect(abs(refused.retryAfter - 0.5) < 0.001)
        #expect(limiter.take(user: "other").allowed)  // budgets are per user
        clock.advance(0.5)
        #expect(limiter.take(user: "u").allowed)
        #expect(!limiter.take(user: "u").allowed)
    }

    @Test func pruneForgetsFullBuckets() {
        let clock = Clock()
        let limiter = SendLimiter(burst: 2, refillPerSecond: 1, now: { clock.now })
        _ = limiter.take(user: "a")
        _ = limiter.take(user: "b")
        clock.advance(0.5)
        _ = limiter.take(user: "b")
        clock.advance(0.6)
        limiter.prune()
        // a refilled completely (forgotten); b is still below capacity.
        #expect(limiter.tracked == 1)
    }
}
