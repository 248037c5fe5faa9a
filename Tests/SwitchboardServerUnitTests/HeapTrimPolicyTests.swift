import Testing

@testable import SwitchboardServer

@Suite struct HeapTrimPolicyTests {
    /// The policy's answers to a sequence of heartbeats (connections, sends per second).
    func answers(_ beats: [(connections: Int, rate: Double)]) -> [Bool] {
        var policy = HeapTrimPolicy()
        return beats.map { policy.shouldTrim(connections: $0.connections, messagesPerSecond: $0.rate) }
    }

    @Test func trimsAfterAConnectStormNotUnderSteadyTraffic() {
        let steady = Array(repeating: (connections: 10_050, rate: 500.0), count: 10)  // a little churn
        let beats = [(10_000, 0.0), (10_000, 0)] + steady + [(8_900, 500)]  // then 11 % went away
        #expect(answers(beats) == [true, false] + Array(repeating: false, count: 10) + [true])
    }

    @Test func smallChangesAddUpUntilTheyCount() {
        #expect(answers([(100, 0), (200, 0), (300, 0), (300, 0)]) == [false, false, true, false])
    }

    @Test func trimsOnceWhenABurstOfTrafficEnds() {
        // Never busy: nothing to give back; busy; slowing down, not quiet yet; quiet; quiet again.
        #expect(answers([(0, 0), (0, 800), (0, 20), (0, 0), (0, 0)]) == [false, false, false, true, false])
    }
}
