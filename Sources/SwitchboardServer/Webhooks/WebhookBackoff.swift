/// How long to wait before retrying a failed webhook delivery: exponential
/// from `initial`, capped at `maximum`, with "equal jitter" (between half
/// and all of it) so nodes and events retrying together spread out.
struct WebhookBackoff: Sendable {
    var initial: Double
    var maximum: Double

    /// Seconds to wait after failed attempt number `attempt` (1-based); `random` in 0...1.
    func delay(afterAttempt attempt: Int, random: Double) -> Double {
        let exponent = Double(max(0, min(attempt - 1, 30)))
        let base = min(maximum, initial * pow2(exponent))
        return base / 2 + base / 2 * min(1, max(0, random))
    }

    private func pow2(_ exponent: Double) -> Double {
        var value = 1.0
        for _ in 0..<Int(exponent) { value *= 2 }
        return value
    }
}
