import CoreMetrics
import NIOCore

/// The sessions of one event loop, indexed by conversation and by user.
/// Touched only on its own loop: a broadcast hops to each loop once and
/// writes the same frame bytes to every local recipient there.
/// (`@unchecked Sendable`: created for every loop up front, then only ever
/// used on its own loop.)
final class LoopHub: @unchecked Sendable {
    let eventLoop: any EventLoop
    private(set) var sessions: [ObjectIdentifier: WebSocketSession] = [:]
    private var byConversation: [String: [ObjectIdentifier: WebSocketSession]] = [:]
    /// A user's sessions on this loop: usually one, so an array, not a dictionary.
    private var byUser: [String: [WebSocketSession]] = [:]
    private var byWatched: [String: [ObjectIdentifier: WebSocketSession]] = [:]
    private var timer: RepeatedTask?
    /// Sessions written to since the last flush; flushed once at the end of this loop tick.
    private var unflushed: [WebSocketSession] = []
    private var flushScheduled = false
    /// When the pub/sub events written since the last flush reached this
    /// node: recorded into `fanoutTimer` once the flush is done.
    private var unflushedReceived: [NIODeadline] = []
    /// Node-side fan-out delay: pub/sub event received → written and flushed on this loop.
    private let fanoutTimer: CoreMetrics.Timer?

    init(eventLoop: any EventLoop, fanoutTimer: CoreMetrics.Timer? = nil) {
        self.eventLoop = eventLoop
        self.fanoutTimer = fanoutTimer
    }

    /// Starts the once-a-second housekeeping of every session on this loop
    /// (auth deadline, token expiry, pings).
    func startTimer() {
        guard timer == nil else { return }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        timer = eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            let hub = bound.value
            let now = hub.eventLoop.now
            for session in hub.sessions.values { session.tick(now: now) }
        }
    }

    func stopTimer() {
        timer?.cancel()
        timer = nil
    }

    var connectionCount: Int { sessions.count }

    func add(_ session: WebSocketSession) {
        sessions[ObjectIdentifier(session)] = session
    }

    /// Forgets a session that closed (`user`: the one it had authenticated as).
    func remove(_ session: WebSocketSession, user: String?) {
        let id = ObjectIdentifier(session)
        sessions[id] = nil
        if let user {
            byUser[user]?.removeAll { $0 === session }
            if byUser[user]?.isEmpty == true { byUser[user] = nil }
        }
        for conversation in session.conversations {
            byConversation[conversation]?[id] = nil
            if byConversation[conversation]?.isEmpty == true { byConversation[conversation] = nil }
        }
        for user in session.watching { unwatch(session, user: user) }
    }

    func watch(_ session: WebSocketSession, user: String) {
        byWatched[user, default: [:]][ObjectIdentifier(session)] = session
    }

    func unwatch(_ session: WebSocketSession, user: String) {
        byWatched[user]?[ObjectIdentifier(session)] = nil
        if byWatched[user]?.isEmpty == true { byWatched[user] = nil }
    }

    /// Every local user with their connections' ids, for the heartbeat.
    func connections() -> [String: [String]] {
        byUser.mapValues { $0.map(\.connectionID) }
    }

    /// Writes a presence event to every local session watching the user.
    func deliver(presenceOf user: String, frame: ByteBuffer) {
        guard let watchers = byWatched[user] else { return }
        for session in watchers.values {
            session.deliver(frame, conversation: nil, seq: nil)
            session.flushIfNeeded()
        }
    }

    func addUser(_ session: WebSocketSession, user: String) {
        if byUser[user]?.contains(where: { $0 === session }) != true { byUser[user, default: []].append(session) }
    }

    func join(_ session: WebSocketSession, conversation: String) {
        byConversation[conversation, default: [:]][ObjectIdentifier(session)] = session
    }

    func leave(_ session: WebSocketSession, conversation: String) {
        byConversation[conversation]?[ObjectIdentifier(session)] = nil
        if byConversation[conversation]?.isEmpty == true { byConversation[conversation] = nil }
    }

    /// Local sessions of a user.
    func sessions(ofUser user: String) -> [WebSocketSession] {
        byUser[user] ?? []
    }

    /// Writes one frame to every local member session of a conversation but
    /// the originating connection, then flushes each once. Answers how many got it.
    /// `received`: when the event reached the node (for the node-side fan-out delay).
    @discardableResult
    func deliver(conversation: String, frame: ByteBuffer, seq: Int?, origin: String?, received: NIODeadline? = nil) -> Int {
        guard let members = byConversation[conversation] else { return 0 }
        var count = 0
        for session in members.values where session.connectionID != origin {
            session.deliver(frame, conversation: conversation, seq: seq)
            unflushed.append(session)
            count += 1
        }
        if count > 0, let received, fanoutTimer != nil { unflushedReceived.append(received) }
        scheduleFlush()
        return count
    }

    /// One flush per written session per loop tick, however many events reached it in that tick.
    private func scheduleFlush() {
        guard !flushScheduled, !unflushed.isEmpty else { return }
        flushScheduled = true
        let hub = self
        eventLoop.assumeIsolatedUnsafeUnchecked().execute {
            hub.flushScheduled = false
            let sessions = hub.unflushed
            hub.unflushed.removeAll(keepingCapacity: true)
            for session in sessions { session.flushIfNeeded() }
            hub.recordFlushed()
        }
    }

    /// Records, for every event flushed just now, how long it took from
    /// reaching the node to leaving it (one clock read per flush).
    private func recordFlushed() {
        guard let fanoutTimer, !unflushedReceived.isEmpty else { return }
        let now = NIODeadline.now()
        for received in unflushedReceived { fanoutTimer.recordNanoseconds(max(0, (now - received).nanoseconds)) }
        unflushedReceived.removeAll(keepingCapacity: true)
    }

    /// Writes one frame to every local session of a user.
    func deliver(user: String, frame: ByteBuffer) {
        guard let targets = byUser[user] else { return }
        for session in targets {
            session.deliver(frame, conversation: nil, seq: nil)
            session.flushIfNeeded()
        }
    }
}
