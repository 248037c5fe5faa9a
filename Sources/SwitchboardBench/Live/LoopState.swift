import Histogram
import NIOCore

/// The clients of one event loop, its sender and its measurements. Only
/// ever touched on its loop (hence `@unchecked Sendable`): recording a
/// delivery takes no lock.
final class LoopState: @unchecked Sendable {
    let loop: any EventLoop
    var clients: [BenchClient] = []
    private var rng: UInt64 = UInt64.random(in: 1...UInt64.max)

    // Schedule (µs, monotonic)
    var sendStart: UInt64 = 0
    var warmupEnd: UInt64 = .max
    var sendEnd: UInt64 = 0
    private var ratePerMicro = 0.0
    private var scheduled = 0
    private var sendTask: RepeatedTask?

    /// Recorded by the clients and the sender; copied out by `LiveBench`.
    var measured = LoopMeasurements()

    init(loop: any EventLoop) {
        self.loop = loop
    }

    var readyClients: Int { clients.count }
    var isSending: Bool { sendTask != nil }

    // MARK: Sending at a fixed rate

    func startSending(start: UInt64, warmupEnd: UInt64, end: UInt64, rate: Double) {
        sendStart = start
        self.warmupEnd = warmupEnd
        sendEnd = end
        ratePerMicro = rate / 1e6
        scheduled = 0
        guard rate > 0, !clients.isEmpty else { return }
        let delay = TimeAmount.microseconds(Int64(max(0, Int64(start) - Int64(monotonicMicros()))))
        sendTask = loop.scheduleRepeatedTask(initialDelay: delay, delay: .milliseconds(1)) { [self] _ in self.tick() }
    }

    /// Sends every message due by now (open loop: a late tick catches up);
    /// each carries its actual send time.
    private func tick() {
        let now = monotonicMicros()
        let until = min(now, sendEnd)
        if until > sendStart {
            let target = Int(Double(until - sendStart) * ratePerMicro)
            while scheduled < target {
                // Message k (from 0) is due once (k + 1) / rate seconds passed.
                scheduled += 1
                let intended = sendStart + UInt64(Double(scheduled) / ratePerMicro)
                guard let client = pickClient() else { continue }
                if intended >= warmupEnd { _ = measured.sendLag.record(max(1, now &- intended)) }
                client.sendMessage(now: now)
                measured.counters.sent += 1
            }
        }
        if now >= sendEnd {
            sendTask?.cancel()
            sendTask = nil
        }
    }

    private func pickClient() -> BenchClient? {
        for _ in 0..<16 {
            rng ^= rng << 13
            rng ^= rng >> 7
            rng ^= rng << 17
            let client = clients[Int(rng % UInt64(clients.count))]
            if client.isReady { return client }
        }
        return nil
    }

    func closeAll() {
        sendTask?.cancel()
        sendTask = nil
        for client in clients { client.closeFromBench() }
    }
}
