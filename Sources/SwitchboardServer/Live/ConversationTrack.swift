/// What the hub knows of one subscribed conversation's message stream: the
/// last seq broadcast, and, while a gap is being replayed from the stream,
/// the live events that wait behind the replay. A pure value (no I/O): the
/// hub performs what it decides.
struct ConversationTrack<Event> {
    /// The newest seq broadcast (nil: not known yet, the first message sets it).
    private(set) var lastSeq: Int?
    /// A replay from the stream is under way; live events wait in `pending`.
    private(set) var recovering = false
    private var pending: [(event: Event, seq: Int?)] = []

    /// What to do with one live event.
    enum Decision: Equatable {
        /// Broadcast it now.
        case deliver
        /// Seen before (a replay covered it): drop it.
        case drop
        /// Queued behind a replay under way.
        case wait
        /// Messages are missing: replay the stream after this seq, then the queued events.
        case recover(after: Int)
    }

    init(lastSeq: Int? = nil) {
        self.lastSeq = lastSeq
    }

    /// Learns the conversation's seq at subscription time (only if nothing set it yet).
    mutating func start(at seq: Int) {
        if lastSeq == nil { lastSeq = seq }
    }

    /// A live event; `seq` for messages, nil for other events (they keep their place in the order).
    mutating func receive(_ event: Event, seq: Int?) -> Decision {
        if recovering {
            pending.append((event, seq))
            return .wait
        }
        guard let seq else { return .deliver }
        if let last = lastSeq {
            if seq <= last { return .drop }
            if seq > last + 1 {
                recovering = true
                pending = [(event, seq)]
                return .recover(after: last)
            }
        }
        lastSeq = seq
        return .deliver
    }

    /// The subscriber reconnected (events may have been missed): the seq to
    /// replay after, or nil when nothing is known or a replay is under way.
    mutating func reconnected() -> Int? {
        guard let last = lastSeq, !recovering else { return nil }
        recovering = true
        pending = []
        return last
    }

    /// Ends a replay that started after `last`, with the seqs the stream
    /// answered (ascending; nil when the stream could not be read). Answers
    /// the positions in `streamSeqs` to broadcast, then the queued live events
    /// to broadcast after them, each once and in seq order.
    mutating func finishRecovery(after last: Int, streamSeqs: [Int]?) -> (replay: [Int], live: [Event]) {
        var newest = max(last, lastSeq ?? last)
        var replay: [Int] = []
        for (index, seq) in (streamSeqs ?? []).enumerated() where seq > newest {
            replay.append(index)
            newest = seq
        }
        var live: [Event] = []
        for (event, seq) in pending {
            if let seq {
                if seq <= newest { continue }
                newest = seq
            }
            live.append(event)
        }
        pending = []
        recovering = false
        lastSeq = newest
        return (replay, live)
    }
}
