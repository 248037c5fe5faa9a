import NIOCore
import NIOWebSocket
import SwitchboardCore

/// The pure part of a `WebSocketSession`: which phase the connection is in,
/// the op queue, liveness, the auth deadline, token expiry, the close
/// handshake and the hold after authentication.
///
/// Events go in (a frame, an op that finished, a timer tick, an auth
/// result); actions come out, and the session performs them on its channel.
/// No channel, no Redis, no clock: time comes in as arguments.
struct WebSocketSessionStateMachine {
    /// The limits a session runs with (from `LiveConfiguration`).
    struct Configuration: Sendable {
        /// Time a new connection has to authenticate (then 4001).
        var authTimeout: TimeAmount
        /// Inbound silence after which the server pings.
        var pingInterval: TimeAmount
        /// Time a ping's pong may take before the socket is dropped.
        var pongTimeout: TimeAmount
        /// Live events held after authentication before they go out anyway.
        var maxHeldEvents: Int
    }

    /// Commands that may wait behind the running op; one more closes with 4029.
    static let maxPendingOps = 1000

    /// The user a connection authenticated as, and until when (Unix seconds; 0: no expiry).
    struct Identity: Equatable {
        var user: String
        var tokenExpiry: Int
    }

    /// A live event that arrived while held.
    struct HeldEvent {
        var conversation: String?
        var frame: ByteBuffer
        var seq: Int?
    }

    /// A close the connection owes once the running op's reply is written.
    struct PendingClose: Equatable {
        var code: CloseCode
        var reason: String
    }

    enum Phase {
        /// Connected; commands but `auth` are answered `unauthorized` until the deadline (then 4001).
        case awaitingAuth(deadline: NIODeadline)
        /// The first token is being verified (the deadline waits for the answer);
        /// a rejected token closes the connection after the reply.
        case authenticating(deadline: NIODeadline, rejected: PendingClose?)
        /// Authenticated after announcing a `resume`; live events wait for the first
        /// command (`resume` merges them into its replay).
        case holding(Identity, held: [HeldEvent])
        /// Authenticated; live events go out as they come.
        case live(Identity)
        /// A close frame was sent with this code (or, for `abnormal`, the socket is being dropped).
        case closing(CloseCode, user: String?)
        /// The channel is gone and the session cleaned up.
        case closed
    }

    let configuration: Configuration
    private(set) var phase: Phase
    /// Waiting commands; allocated only while there are some.
    private var pendingOps: CircularBuffer<ClientCommand>?
    private(set) var runningOp = false
    private var lastInbound: NIODeadline
    private var pingSentAt: NIODeadline?
    /// The client announced a `resume` (upgrade URL `resume=1`, or `auth` with
    /// `"resume": true`): live events wait for it after authentication.
    private(set) var resumeAnnounced = false

    init(configuration: Configuration, now: NIODeadline) {
        self.configuration = configuration
        self.phase = .awaitingAuth(deadline: now + configuration.authTimeout)
        self.lastInbound = now
    }

    /// The authenticated user (also while closing, so cleanup can find it).
    var userID: String? {
        switch phase {
        case .holding(let identity, _), .live(let identity): identity.user
        case .closing(_, let user): user
        case .awaitingAuth, .authenticating, .closed: nil
        }
    }

    /// Whether the connection is closing or closed: nothing more is written or run.
    var isClosing: Bool {
        switch phase {
        case .closing, .closed: true
        case .awaitingAuth, .authenticating, .holding, .live: false
        }
    }

    /// Commands waiting behind the running op.
    var pendingOpCount: Int { pendingOps?.count ?? 0 }

    // MARK: Connection

    /// The session was added to its channel.
    mutating func connected(headerToken: Bool, resumeAnnounced: Bool = false, draining: Bool) -> Action {
        guard case .awaitingAuth(let deadline) = phase else { return .none }
        self.resumeAnnounced = resumeAnnounced
        if draining { return closeRequested(.goingAway, reason: "node shutting down") }
        guard headerToken else { return .none }
        runningOp = true
        phase = .authenticating(deadline: deadline, rejected: nil)
        return .authenticateHeaderToken
    }

    /// A frame arrived (after fragment reassembly).
    mutating func frameReceived(_ frame: WebSocketFrame, now: NIODeadline) -> Action {
        lastInbound = now
        switch frame.opcode {
        case .text:
            guard !isClosing else { return .none }
            var data = frame.unmaskedData
            let bytes = data.readBytes(length: data.readableBytes) ?? []
            guard String(validating: bytes, as: UTF8.self) != nil else {
                return closeRequested(.invalidPayload, reason: "invalid UTF-8")
            }
            switch ClientCommand.parse(bytes) {
            case .failure(.unreadable(let message)): return .sendError(.invalid(message))
            case .success(let command): return commandReceived(command)
            }
        case .binary:
            return closeRequested(.unsupportedData, reason: "binary frames are not supported")
        case .ping:
            return isClosing ? .none : .sendPong(frame.unmaskedData)
        case .pong:
            pingSentAt = nil
            return .none
        case .connectionClose:
            var data = frame.unmaskedData
            return peerClosed(code: data.readInteger(as: UInt16.self).map(CloseCode.init(rawValue:)))
        default:
            return .none
        }
    }

    /// Something wants the connection closed with a close frame.
    mutating func closeRequested(_ code: CloseCode, reason: String) -> Action {
        guard !isClosing else { return .none }
        phase = .closing(code, user: userID)
        pendingOps = nil
        return .sendClose(code, reason: reason, closeWhenWritten: false)
    }

    /// The peer sent a close frame: the answer to ours, or its own (echoed; 1005 and 1006 become 1000).
    mutating func peerClosed(code: CloseCode?) -> Action {
        switch phase {
        case .closing:
            return .closeChannel
        case .closed:
            return .none
        case .awaitingAuth, .authenticating, .holding, .live:
            let echo = code.flatMap { $0 == .noStatus || $0 == .abnormal ? nil : $0 } ?? .normal
            phase = .closing(echo, user: userID)
            pendingOps = nil
            return .sendClose(echo, reason: "", closeWhenWritten: true)
        }
    }

    /// The channel went away (or the handler was removed): clean up, once.
    mutating func channelInactive() -> Action {
        if case .closed = phase { return .none }
        let user = userID
        phase = .closed
        pendingOps = nil
        return .cleanUp(user: user)
    }

    /// Once a second: the auth deadline, token expiry (against `epochSeconds`,
    /// read only for an authenticated connection) and liveness.
    mutating func tick(now: NIODeadline, epochSeconds: @autoclosure () -> Int) -> Action {
        let identity: Identity
        switch phase {
        case .awaitingAuth(let deadline):
            return now > deadline ? closeRequested(.unauthorized, reason: "no authentication in time") : .none
        case .authenticating, .closing, .closed:
            return .none
        case .holding(let current, _), .live(let current):
            identity = current
        }
        if identity.tokenExpiry > 0, epochSeconds() > identity.tokenExpiry {
            return closeRequested(.tokenExpired, reason: "token expired")
        }
        if let pingSentAt {
            guard now - pingSentAt > configuration.pongTimeout else { return .none }
            phase = .closing(.abnormal, user: identity.user)
            pendingOps = nil
            return .closeChannel
        }
        guard now - lastInbound > configuration.pingInterval else { return .none }
        pingSentAt = now
        return .sendPing
    }

    // MARK: Ops, one at a time

    /// A command arrived: it runs now or waits behind the running op.
    mutating func commandReceived(_ command: ClientCommand) -> Action {
        guard !isClosing else { return .none }
        guard pendingOpCount < Self.maxPendingOps else {
            return closeRequested(.rateLimited, reason: "too many commands in flight")
        }
        if pendingOps == nil { pendingOps = CircularBuffer(initialCapacity: 2) }
        pendingOps!.append(command)
        return startNextOp()
    }

    /// The running op's reply is written (or the header token is checked): the next one may start.
    mutating func opFinished() -> Action {
        runningOp = false
        if case .authenticating(let deadline, let rejected) = phase {
            // The first auth ended without success.
            if let rejected { return closeRequested(rejected.code, reason: rejected.reason) }
            phase = .awaitingAuth(deadline: deadline)
        }
        return startNextOp()
    }

    private mutating func startNextOp() -> Action {
        guard !runningOp, !isClosing, let command = pendingOps?.popFirst() else { return .none }
        if pendingOps?.isEmpty == true { pendingOps = nil }
        runningOp = true
        switch phase {
        case .awaitingAuth(let deadline), .authenticating(let deadline, _):
            switch command.op {
            case .auth:
                if command.fields["resume"] as? Bool == true { resumeAnnounced = true }
                phase = .authenticating(deadline: deadline, rejected: nil)
                return .runOp(command, releasingHeld: [])
            case nil:
                return .runOp(command, releasingHeld: [])  // answered `invalid_request` or `unknown_op`
            case .some:
                return .rejectOp(command, SwitchboardError(.unauthorized, "authenticate first (op auth)"))
            }
        case .holding(let identity, let held):
            // The first command ends the hold, unless it is `resume` (which merges the held
            // events into its replay) or an `auth` renewal.
            if command.op == .auth || command.op == .resume { return .runOp(command, releasingHeld: []) }
            phase = .live(identity)
            return .runOp(command, releasingHeld: held)
        case .live:
            return .runOp(command, releasingHeld: [])
        case .closing, .closed:
            preconditionFailure("no op starts while closing")
        }
    }

    // MARK: Authentication

    /// A token verified for `user`.
    mutating func authSucceeded(user: String, tokenExpiry: Int) -> AuthSuccessAction {
        switch phase {
        case .awaitingAuth, .authenticating:
            // Live events go out at once, unless a `resume` was announced: then they
            // wait for it (at most `holdTime`), so its replay comes first.
            let identity = Identity(user: user, tokenExpiry: tokenExpiry)
            phase = resumeAnnounced ? .holding(identity, held: []) : .live(identity)
            return .register(user: user)
        case .holding(var identity, let held):
            guard identity.user == user else { return .refuse(.init(.forbidden, "the token belongs to another user")) }
            identity.tokenExpiry = tokenExpiry
            phase = .holding(identity, held: held)
            return .renewed
        case .live(var identity):
            guard identity.user == user else { return .refuse(.init(.forbidden, "the token belongs to another user")) }
            identity.tokenExpiry = tokenExpiry
            phase = .live(identity)
            return .renewed
        case .closing(let code, nil):
            // Presence was connected for the user: cleanup must disconnect it.
            phase = .closing(code, user: user)
            return .ignore
        case .closing, .closed:
            return .ignore
        }
    }

    /// A token did not verify. A bad (4001) or expired (4009) first token
    /// closes the connection once the op's reply is written (`opFinished`);
    /// a renewal that fails leaves the connection as it was.
    mutating func authFailed(_ error: SwitchboardError) {
        guard case .authenticating(let deadline, nil) = phase else { return }
        let code: CloseCode
        switch error.code {
        case .unauthorized: code = .unauthorized
        case .tokenExpired: code = .tokenExpired
        case .banned: code = .forbidden
        default: return  // e.g. Redis unavailable: the client may try again before the deadline
        }
        phase = .authenticating(deadline: deadline, rejected: PendingClose(code: code, reason: error.message))
    }

    // MARK: Live events and the hold

    /// A live event for this connection arrived (`event` is only built
    /// when it is held: per recipient per message, `live` costs a switch).
    mutating func liveEventArrived(_ event: @autoclosure () -> HeldEvent) -> LiveEventAction {
        switch phase {
        case .live:
            return .deliver
        case .holding(let identity, var held):
            phase = .live(identity)  // (drops the array's second reference before appending)
            held.append(event())
            if held.count > configuration.maxHeldEvents { return .deliverHeld(held) }
            phase = .holding(identity, held: held)
            return .hold
        case .awaitingAuth, .authenticating, .closing, .closed:
            return .drop
        }
    }

    /// Ends the hold (its second is up, or `resume` takes the held events).
    mutating func releaseHeld() -> Action {
        guard case .holding(let identity, let held) = phase else { return .none }
        phase = .live(identity)
        return .deliverHeld(held)
    }
}

extension WebSocketSessionStateMachine.Configuration {
    init(_ live: LiveConfiguration) {
        self.init(
            authTimeout: .milliseconds(Int64(live.authTimeout * 1000)),
            pingInterval: .milliseconds(Int64(live.pingInterval * 1000)),
            pongTimeout: .milliseconds(Int64(live.pongTimeout * 1000)),
            maxHeldEvents: live.outboundMaxFrames)
    }
}
