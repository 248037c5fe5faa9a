import NIOCore

extension LiveBench {
    struct ConnectResult {
        var ok = 0
        var failed = 0
        var firstError: String?
    }

    /// Opens `count` connections at `rate` per second (0: unpaced), at most
    /// `concurrency` at once; client i goes to loop i % loops and URL
    /// (i / loops) % urls. `room(i)` gives its conversation, the
    /// conversation's index and the number of other members. A connection is
    /// tried three times.
    func connectAll(
        count: Int, users: [BenchUser], rate: Double? = nil, concurrency: Int? = nil,
        room: @escaping @Sendable (Int) -> (String?, Int, Int)
    ) async -> ConnectResult {
        let rate = rate ?? command.connectRate
        let concurrency = concurrency ?? command.connectConcurrency
        let loops = self.loops
        let endpoints = self.endpoints
        let start = monotonicMicros()
        var result = ConnectResult()
        var lastReport = start
        await withTaskGroup(of: String?.self) { group in
            var inFlight = 0
            func collect(_ outcome: String??) {
                guard let outcome else { return }
                if let error = outcome {
                    result.failed += 1
                    if result.firstError == nil { result.firstError = error }
                } else {
                    result.ok += 1
                }
            }
            for index in 0..<count {
                if inFlight >= concurrency {
                    collect(await group.next())
                    inFlight -= 1
                }
                if rate > 0 {
                    let due = start + UInt64(Double(index) / rate * 1e6)
                    if due > monotonicMicros() + 1000 { await sleep(until: due) }
                }
                let state = loops[index % loops.count]
                let endpoint = endpoints[(index / loops.count) % endpoints.count]
                let (conversation, roomIndex, peers) = room(index)
                let token = users[index].access
                group.addTask {
                    var lastError = ""
                    for attempt in 0..<3 {
                        do {
                            try await BenchClient.connect(
                                endpoint: endpoint, token: token, conversation: conversation, room: roomIndex, peers: peers, state: state
                            ).get()
                            return nil
                        } catch {
                            lastError = "\(error)"
                            try? await Task.sleep(nanoseconds: UInt64(100_000_000 * (attempt + 1)))
                        }
                    }
                    return lastError
                }
                inFlight += 1
                let now = monotonicMicros()
                if now - lastReport > 5_000_000 {
                    lastReport = now
                    log("\(index + 1) connections started, \(result.ok) ready")
                }
            }
            for await outcome in group { collect(outcome) }
        }
        return result
    }

    /// "N of M connected in S s (F failed: error)".
    func describe(_ connected: ConnectResult, of count: Int, seconds: Double, perSecond: Bool = false) -> String {
        let rate = perSecond ? ", \(format(Double(connected.ok) / seconds)) per s" : ""
        return
            "\(connected.ok) of \(count) connected in \(format(seconds)) s\(rate) (\(connected.failed) failed\(connected.firstError.map { ": " + $0 } ?? ""))"
    }
}
