import NIOCore
import NIOPosix

/// One run of `switchboard-bench live`: provisioning, connections, load,
/// report. The scenarios are in `LiveBench+Fanout.swift` and
/// `LiveBench+Idle.swift`.
struct LiveBench {
    let command: BenchLiveCommand
    let endpoints: [Endpoint]
    let group: MultiThreadedEventLoopGroup
    let watched: [ProcessWatch]
    /// One per event loop of `group`.
    let loops: [LoopState]

    init(command: BenchLiveCommand, endpoints: [Endpoint], group: MultiThreadedEventLoopGroup, watched: [ProcessWatch]) {
        self.command = command
        self.endpoints = endpoints
        self.group = group
        self.watched = watched
        self.loops = group.makeIterator().map { LoopState(loop: $0) }
    }

    func log(_ text: String) {
        printError("bench: " + text)
    }

    /// Sends a close frame on every connection and gives them time to go out.
    func closeAll() async {
        for state in loops {
            try? await state.loop.submit { state.closeAll() }.get()
        }
        await sleep(until: monotonicMicros() + 500_000)
    }

    // MARK: Gathering from the loops

    func gather<T: Sendable>(_ body: @escaping @Sendable (LoopState) -> T) async throws -> [T] {
        var values: [T] = []
        for state in loops { values.append(try await state.loop.submit { body(state) }.get()) }
        return values
    }

    func counters() async throws -> LoopCounters {
        try await gather { state in
            var counters = state.measured.counters
            counters.sending = state.isSending ? 1 : 0
            return counters
        }.reduce(into: LoopCounters()) { $0.add($1) }
    }

    func measurements() async throws -> LoopMeasurements {
        let parts = try await gather { $0.measured }
        var total = LoopMeasurements()
        for part in parts { total.add(part) }
        return total
    }
}
