import Histogram

/// What one event loop's clients measured (or, added up, all of them).
/// Lives in its `LoopState` and is only changed on that loop.
struct LoopMeasurements: Sendable {
    var latency = LoopMeasurements.makeHistogram()
    var ackLatency = LoopMeasurements.makeHistogram()
    var sendLag = LoopMeasurements.makeHistogram()
    var connectLatency = LoopMeasurements.makeHistogram()
    var counters = LoopCounters()
    var otherEvents = 0
    var dropped = 0
    var closeCodes: [Int: Int] = [:]
    var firstError: String?
    /// Per conversation (by index): deliveries seen per seq, and the seqs acknowledged to senders.
    var seqCounts: [[UInt16]] = []
    var ackedSeqs: [[UInt32]] = []

    /// 1 µs to 10 min, 3 significant digits.
    static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    }

    @inline(__always)
    mutating func countDelivery(room: Int, seq: UInt64) {
        if room >= seqCounts.count { seqCounts.append(contentsOf: repeatElement([], count: room + 1 - seqCounts.count)) }
        let index = Int(seq)
        if index >= seqCounts[room].count {
            seqCounts[room].append(contentsOf: repeatElement(0, count: max(index + 1 - seqCounts[room].count, 1024)))
        }
        seqCounts[room][index] &+= 1
    }

    mutating func countAck(room: Int, seq: UInt64) {
        if room >= ackedSeqs.count { ackedSeqs.append(contentsOf: repeatElement([], count: room + 1 - ackedSeqs.count)) }
        ackedSeqs[room].append(UInt32(truncatingIfNeeded: seq))
    }

    mutating func noteError(_ text: String) {
        if firstError == nil { firstError = String(text.prefix(300)) }
    }

    mutating func add(_ other: LoopMeasurements) {
        latency.add(other.latency)
        ackLatency.add(other.ackLatency)
        sendLag.add(other.sendLag)
        connectLatency.add(other.connectLatency)
        counters.add(other.counters)
        otherEvents += other.otherEvents
        dropped += other.dropped
        closeCodes.merge(other.closeCodes, uniquingKeysWith: +)
        firstError = firstError ?? other.firstError
        if seqCounts.count < other.seqCounts.count { seqCounts.append(contentsOf: repeatElement([], count: other.seqCounts.count - seqCounts.count)) }
        for (room, counts) in other.seqCounts.enumerated() {
            if seqCounts[room].count < counts.count {
                seqCounts[room].append(contentsOf: repeatElement(0, count: counts.count - seqCounts[room].count))
            }
            for (seq, count) in counts.enumerated() where count > 0 { seqCounts[room][seq] &+= count }
        }
        if ackedSeqs.count < other.ackedSeqs.count { ackedSeqs.append(contentsOf: repeatElement([], count: other.ackedSeqs.count - ackedSeqs.count)) }
        for (room, seqs) in other.ackedSeqs.enumerated() { ackedSeqs[room] += seqs }
    }

    /// Per (conversation, seq): deliveries missing for acknowledged messages,
    /// and deliveries of messages whose send was not acknowledged (failed or
    /// timed out, yet stored and broadcast).
    func accounting(peers: (Int) -> Int) -> (lost: Int, unackedDelivered: Int, unackedStored: Int) {
        var lost = 0
        var unackedDelivered = 0
        var unackedStored = 0
        let rooms = max(seqCounts.count, ackedSeqs.count)
        for room in 0..<rooms {
            let counts = room < seqCounts.count ? seqCounts[room] : []
            var acked = Set<Int>()
            for seq in room < ackedSeqs.count ? ackedSeqs[room] : [] {
                let index = Int(seq)
                acked.insert(index)
                lost += max(0, peers(room) - (index < counts.count ? Int(counts[index]) : 0))
            }
            for (seq, count) in counts.enumerated() where count > 0 && !acked.contains(seq) {
                unackedDelivered += Int(count)
                unackedStored += 1
            }
        }
        return (lost, unackedDelivered, unackedStored)
    }
}
