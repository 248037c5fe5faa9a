import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import SwitchboardServer

/// Work started after a reply runs in the service group, bounded, and a
/// graceful shutdown waits for what was queued.
@Suite("Background work")
struct BackgroundWorkTests {
    final class Tally: Sendable {
        let done = Atomic<Int>(0)
        let running = Atomic<Int>(0)
        let peak = Atomic<Int>(0)
    }

    @Test func queuedJobsFinishBeforeShutdownEndsAndConcurrencyIsBounded() async throws {
        let work = BackgroundWork(maxConcurrent: 3, maxQueued: 1000, logger: Logger(label: "test"))
        let tally = Tally()
        for _ in 0..<40 {
            work.submit("job") {
                let now = tally.running.wrappingAdd(1, ordering: .relaxed).newValue
                var peak = tally.peak.load(ordering: .relaxed)
                while now > peak {
                    let (exchanged, original) = tally.peak.compareExchange(expected: peak, desired: now, ordering: .relaxed)
                    if exchanged { break }
                    peak = original
                }
                try? await Task.sleep(nanoseconds: 2_000_000)
                tally.running.wrappingSubtract(1, ordering: .relaxed)
                tally.done.wrappingAdd(1, ordering: .relaxed)
            }
        }
        let group = ServiceGroup(services: [work], logger: Logger(label: "test"))
        async let run: Void = group.run()
        await group.triggerGracefulShutdown()
        try await run
        #expect(tally.done.load(ordering: .relaxed) == 40)
        #expect(tally.peak.load(ordering: .relaxed) <= 3)
        #expect(work.pending == 0)
    }

    @Test func aFullQueueRefusesMoreWork() async throws {
        let work = BackgroundWork(maxConcurrent: 1, maxQueued: 2, logger: Logger(label: "test"))
        let tally = Tally()
        for _ in 0..<5 { work.submit("job") { tally.done.wrappingAdd(1, ordering: .relaxed) } }
        #expect(work.pending == 2)
        let group = ServiceGroup(services: [work], logger: Logger(label: "test"))
        async let run: Void = group.run()
        await group.triggerGracefulShutdown()
        try await run
        #expect(tally.done.load(ordering: .relaxed) == 2)
    }
}
