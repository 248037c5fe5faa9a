import NIOCore
import NIOWebSocket
import SwitchboardCore
import Testing

@testable import SwitchboardServer

/// The session's rules as a value: events in, actions out, no channel, no Redis.
@Suite("WebSocket session state machine")
struct WebSocketSessionStateMachineTests {
    typealias Machine = WebSocketSessionStateMachine

    static let configuration = Machine.Configuration(
        authTimeout: .seconds(5), pingInterval: .seconds(30), pongTimeout: .seconds(30), maxHeldEvents: 3)
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    func machine() -> Machine {
        Machine(configuration: Self.configuration, now: t0)
    }

    /// A machine that authenticated `alice` (token valid until `expiry`) with the `auth` op.
    func authenticated(expiry: Int = 0, announcingResume: Bool = false) -> Machine {
        var machine = machine()
        let auth = announcingResume ? #"{"id":1,"op":"auth","token":"t","resume":true}"# : #"{"id":1,"op":"auth","token":"t"}"#
        _ = machine.commandReceived(command(auth))
        _ = machine.authSucceeded(user: "alice", tokenExpiry: expiry)
        _ = machine.opFinished()
        return machine
    }

    // MARK: Authentication

    @Test func noAuthenticationInTimeClosesWith4001() {
        var machine = machine()
        #expect(describe(machine.tick(now: t0 + .seconds(4), epochSeconds: 0)) == "none")
        #expect(describe(machine.tick(now: t0 + .seconds(6), epochSeconds: 0)) == "sendClose(4001, no authentication in time)")
        #expect(describe(machine.tick(now: t0 + .seconds(7), epochSeconds: 0)) == "none")
        #expect(machine.isClosing)
    }

    @Test func opsBeforeAuthAreAnsweredUnauthorizedAndTheConnectionStays() {
        var machine = machine()
        #expect(describe(machine.commandReceived(command(#"{"id":1,"op":"send","conv":"c","text":"hi"}"#))) == "rejectOp(1, unauthorized)")
        #expect(describe(machine.opFinished()) == "none")
        #expect(!machine.isClosing)
        // Frames that are no known op go to dispatch, which answers invalid_request or unknown_op.
        #expect(describe(machine.commandReceived(command(#"{"id":2,"op":"nope"}"#))) == "runOp(2)")
    }

    @Test func aTextFrameThatIsNoCommandGetsAnErrorEvent() {
        var machine = machine()
        #expect(describe(machine.frameReceived(text("[1,2]"), now: t0)) == "sendError(invalid_request)")
        #expect(describe(machine.frameReceived(text(#"{"op":"ping"}"#), now: t0)) == "sendError(invalid_request)")
        #expect(describe(machine.frameReceived(text(#"{"id":7,"op":"ping"}"#), now: t0)) == "rejectOp(7, unauthorized)")
    }

    @Test func invalidUTF8AndBinaryFramesClose() {
        var first = machine()
        let invalid = WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: [0xC3, 0x28]))
        #expect(describe(first.frameReceived(invalid, now: t0)) == "sendClose(1007, invalid UTF-8)")
        var second = machine()
        let binary = WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(bytes: [1]))
        #expect(describe(second.frameReceived(binary, now: t0)) == "sendClose(1003, binary frames are not supported)")
    }

    @Test func aBadFirstTokenClosesAfterTheReply() {
        for (error, code) in [(SwitchboardError(.unauthorized, "bad token"), 4001), (SwitchboardError(.tokenExpired, "expired"), 4009)] {
            var machine = machine()
            #expect(describe(machine.commandReceived(command(#"{"id":1,"op":"auth","token":"t"}"#))) == "runOp(1)")
            // A command sent meanwhile never runs.
            #expect(describe(machine.commandReceived(command(#"{"id":2,"op":"ping"}"#))) == "none")
            machine.authFailed(error)
            #expect(!machine.isClosing)  // the reply goes out first
            #expect(describe(machine.opFinished()) == "sendClose(\(code), \(error.message))")
            #expect(machine.pendingOpCount == 0)
        }
    }

    @Test func anUnavailableAuthLeavesTheDeadlineRunning() {
        var machine = machine()
        _ = machine.commandReceived(command(#"{"id":1,"op":"auth","token":"t"}"#))
        // While the token is being verified, the deadline waits.
        #expect(describe(machine.tick(now: t0 + .seconds(6), epochSeconds: 0)) == "none")
        machine.authFailed(SwitchboardError(.unavailable, "redis down"))
        #expect(describe(machine.opFinished()) == "none")
        #expect(machine.userID == nil)
        #expect(describe(machine.tick(now: t0 + .seconds(7), epochSeconds: 0)) == "sendClose(4001, no authentication in time)")
    }

    @Test func theHeaderTokenIsCheckedBeforeCommandsSentRightAfterTheUpgrade() {
        var machine = machine()
        #expect(describe(machine.connected(headerToken: true, draining: false)) == "authenticateHeaderToken")
        #expect(describe(machine.commandReceived(command(#"{"id":1,"op":"history","conv":"c"}"#))) == "none")
        #expect(describe(machine.authSucceeded(user: "alice", tokenExpiry: 0)) == "register(alice)")
        #expect(describe(machine.opFinished()) == "runOp(1)")
        #expect(machine.userID == "alice")
    }

    @Test func aDrainingNodeClosesNewConnectionsWith1001() {
        var machine = machine()
        #expect(describe(machine.connected(headerToken: true, draining: true)) == "sendClose(1001, node shutting down)")
    }

    @Test func aRenewalKeepsTheUserAndMovesTheExpiry() {
        var machine = authenticated(expiry: 100)
        _ = machine.commandReceived(command(#"{"id":2,"op":"auth","token":"t"}"#))
        #expect(describe(machine.authSucceeded(user: "bob", tokenExpiry: 500)) == "refuse(forbidden)")
        #expect(describe(machine.authSucceeded(user: "alice", tokenExpiry: 200)) == "renewed")
        machine.authFailed(SwitchboardError(.unauthorized, "bad"))  // a failed renewal changes nothing
        #expect(describe(machine.opFinished()) == "none")
        #expect(describe(machine.tick(now: t0, epochSeconds: 150)) == "none")
        #expect(describe(machine.tick(now: t0, epochSeconds: 201)) == "sendClose(4009, token expired)")
    }

    @Test func aConnectionClosedDuringTheFirstAuthStillKnowsItsUserForCleanup() {
        var machine = machine()
        _ = machine.commandReceived(command(#"{"id":1,"op":"auth","token":"t"}"#))
        _ = machine.closeRequested(.goingAway, reason: "node shutting down")
        #expect(describe(machine.authSucceeded(user: "alice", tokenExpiry: 0)) == "ignore")
        #expect(describe(machine.channelInactive()) == "cleanUp(alice)")
    }

    // MARK: Token expiry and liveness

    @Test func anExpiredTokenClosesWith4009() {
        var machine = authenticated(expiry: 1000)
        #expect(describe(machine.tick(now: t0 + .seconds(1), epochSeconds: 1000)) == "none")
        #expect(describe(machine.tick(now: t0 + .seconds(2), epochSeconds: 1001)) == "sendClose(4009, token expired)")
    }

    @Test func silenceGetsAPingAndNoPongDropsTheSocket() {
        var machine = authenticated()
        #expect(describe(machine.tick(now: t0 + .seconds(29), epochSeconds: 0)) == "none")
        #expect(describe(machine.tick(now: t0 + .seconds(31), epochSeconds: 0)) == "sendPing")
        // One ping at a time; other traffic does not stand in for the pong.
        #expect(describe(machine.tick(now: t0 + .seconds(45), epochSeconds: 0)) == "none")
        _ = machine.frameReceived(text(#"{"id":2,"op":"ping"}"#), now: t0 + .seconds(50))
        _ = machine.opFinished()
        #expect(describe(machine.tick(now: t0 + .seconds(60), epochSeconds: 0)) == "none")
        #expect(describe(machine.tick(now: t0 + .seconds(62), epochSeconds: 0)) == "closeChannel")
        #expect(machine.isClosing)
        #expect(describe(machine.channelInactive()) == "cleanUp(alice)")
    }

    @Test func aPongKeepsTheConnectionAndTrafficDefersThePing() {
        var machine = authenticated()
        _ = machine.frameReceived(text(#"{"id":2,"op":"ping"}"#), now: t0 + .seconds(20))
        _ = machine.opFinished()
        #expect(describe(machine.tick(now: t0 + .seconds(40), epochSeconds: 0)) == "none")
        #expect(describe(machine.tick(now: t0 + .seconds(51), epochSeconds: 0)) == "sendPing")
        _ = machine.frameReceived(WebSocketFrame(fin: true, opcode: .pong, data: ByteBuffer()), now: t0 + .seconds(52))
        #expect(describe(machine.tick(now: t0 + .seconds(83), epochSeconds: 0)) == "sendPing")
        #expect(!machine.isClosing)
    }

    @Test func aPingIsAnsweredWithItsPayload() {
        var machine = machine()
        let ping = WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: "abc"))
        #expect(describe(machine.frameReceived(ping, now: t0)) == "sendPong(abc)")
        _ = machine.closeRequested(.normal, reason: "")
        #expect(describe(machine.frameReceived(ping, now: t0)) == "none")
    }

    // MARK: Close handshake

    @Test func ourCloseWaitsForThePeersClose() {
        var machine = authenticated()
        #expect(describe(machine.closeRequested(.goingAway, reason: "node shutting down")) == "sendClose(1001, node shutting down)")
        #expect(describe(machine.closeRequested(.slowConsumer, reason: "slow consumer")) == "none")
        #expect(describe(machine.commandReceived(command(#"{"id":2,"op":"ping"}"#))) == "none")
        #expect(describe(machine.frameReceived(closeFrame(1000), now: t0)) == "closeChannel")
        #expect(describe(machine.channelInactive()) == "cleanUp(alice)")
    }

    @Test func thePeersCloseIsEchoedAndEndsTheConnection() {
        let cases: [(WebSocketFrame, String)] = [
            (closeFrame(4000), "echo(4000)"), (closeFrame(1001), "echo(1001)"), (closeFrame(1005), "echo(1000)"),
            (closeFrame(1006), "echo(1000)"), (closeFrame(nil), "echo(1000)"),
        ]
        for (frame, expected) in cases {
            var machine = authenticated()
            #expect(describe(machine.frameReceived(frame, now: t0)) == expected)
            #expect(describe(machine.frameReceived(frame, now: t0)) == "closeChannel")
            #expect(describe(machine.tick(now: t0 + .seconds(100), epochSeconds: 0)) == "none")
        }
    }

    @Test func cleanupHappensExactlyOnce() {
        var machine = authenticated()
        #expect(describe(machine.channelInactive()) == "cleanUp(alice)")
        #expect(describe(machine.channelInactive()) == "none")
        #expect(describe(machine.closeRequested(.normal, reason: "")) == "none")
        #expect(describe(machine.frameReceived(closeFrame(1000), now: t0)) == "none")
        var anonymous = self.machine()
        #expect(describe(anonymous.channelInactive()) == "cleanUp(nil)")
        #expect(describe(anonymous.channelInactive()) == "none")
    }

    // MARK: Ops

    @Test func opsRunOneAtATimeInOrder() {
        var machine = authenticated()
        #expect(describe(machine.commandReceived(command(#"{"id":2,"op":"ping"}"#))) == "runOp(2)")
        #expect(describe(machine.commandReceived(command(#"{"id":3,"op":"ping"}"#))) == "none")
        #expect(describe(machine.commandReceived(command(#"{"id":4,"op":"ping"}"#))) == "none")
        #expect(machine.pendingOpCount == 2)
        #expect(describe(machine.opFinished()) == "runOp(3)")
        #expect(describe(machine.opFinished()) == "runOp(4)")
        #expect(describe(machine.opFinished()) == "none")
        #expect(!machine.runningOp)
    }

    @Test func moreThanTheMaximumOfWaitingCommandsClosesWith4029() {
        var machine = authenticated()
        _ = machine.commandReceived(command(#"{"id":0,"op":"ping"}"#))
        for id in 1...Machine.maxPendingOps {
            #expect(describe(machine.commandReceived(command(#"{"id":\#(id),"op":"ping"}"#))) == "none")
        }
        let action = machine.commandReceived(command(#"{"id":"over","op":"ping"}"#))
        #expect(describe(action) == "sendClose(4029, too many commands in flight)")
        #expect(machine.pendingOpCount == 0)
        #expect(describe(machine.opFinished()) == "none")
    }

    // MARK: The hold after authentication

    @Test func withoutAnAnnouncedResumeLiveEventsGoOutAtOnce() {
        // The first second after connect: nothing waits for a command that may never come.
        var machine = authenticated()
        #expect(describe(machine.liveEventArrived(event("c1", 1))) == "deliver")
        var byHeader = self.machine()
        #expect(describe(byHeader.connected(headerToken: true, draining: false)) == "authenticateHeaderToken")
        _ = byHeader.authSucceeded(user: "alice", tokenExpiry: 0)
        _ = byHeader.opFinished()
        #expect(describe(byHeader.liveEventArrived(event("c1", 1))) == "deliver")
    }

    @Test func anAnnouncedResumeByHeaderHoldsLiveEvents() {
        var machine = self.machine()
        _ = machine.connected(headerToken: true, resumeAnnounced: true, draining: false)
        _ = machine.authSucceeded(user: "alice", tokenExpiry: 0)
        _ = machine.opFinished()
        #expect(describe(machine.liveEventArrived(event("c1", 1))) == "hold")
        #expect(describe(machine.commandReceived(command(#"{"id":2,"op":"resume","positions":{}}"#))) == "runOp(2)")
    }

    @Test func liveEventsWaitForTheFirstCommandAfterAnAnnouncedResume() {
        var machine = authenticated(announcingResume: true)
        #expect(describe(machine.liveEventArrived(event("c1", 1))) == "hold")
        #expect(describe(machine.liveEventArrived(event("c1", 2))) == "hold")
        #expect(describe(machine.commandReceived(command(#"{"id":2,"op":"send","conv":"c1","text":"x"}"#))) == "runOp(2, releasing: c1#1 c1#2)")
        #expect(describe(machine.liveEventArrived(event("c1", 3))) == "deliver")
    }

    @Test func resumeKeepsTheHoldForItsReplay() {
        var machine = authenticated(announcingResume: true)
        _ = machine.liveEventArrived(event("c1", 1))
        #expect(describe(machine.commandReceived(command(#"{"id":2,"op":"resume","positions":{}}"#))) == "runOp(2)")
        #expect(describe(machine.liveEventArrived(event("c1", 2))) == "hold")
        #expect(describe(machine.releaseHeld()) == "deliverHeld(c1#1 c1#2)")
        #expect(describe(machine.releaseHeld()) == "none")
    }

    @Test func theHoldEndsAfterItsTimeOrWhenItOverflows() {
        var timedOut = authenticated(announcingResume: true)
        _ = timedOut.liveEventArrived(event(nil, nil))
        #expect(describe(timedOut.releaseHeld()) == "deliverHeld(-#-)")
        var overflowing = authenticated(announcingResume: true)
        for seq in 1...3 { #expect(describe(overflowing.liveEventArrived(event("c", seq))) == "hold") }
        #expect(describe(overflowing.liveEventArrived(event("c", 4))) == "deliverHeld(c#1 c#2 c#3 c#4)")
        #expect(describe(overflowing.liveEventArrived(event("c", 5))) == "deliver")
    }

    @Test func liveEventsBeforeAuthOrWhileClosingAreDropped() {
        var machine = machine()
        #expect(describe(machine.liveEventArrived(event("c", 1))) == "drop")
        var closing = authenticated()
        _ = closing.closeRequested(.normal, reason: "")
        #expect(describe(closing.liveEventArrived(event("c", 1))) == "drop")
    }

    @Test func theStateMachineStaysSmall() {
        // It is stored in every connection's session (idle connections: ~5.4 KB in all).
        #expect(MemoryLayout<Machine>.size <= 128)
    }
}

// MARK: Helpers

func command(_ json: String) -> ClientCommand {
    guard case .success(let command) = ClientCommand.parse(Array(json.utf8)) else { fatalError("not a command: \(json)") }
    return command
}

func text(_ string: String) -> WebSocketFrame {
    WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: string))
}

func closeFrame(_ code: UInt16?) -> WebSocketFrame {
    var data = ByteBuffer()
    if let code { data.writeInteger(code) }
    return WebSocketFrame(fin: true, opcode: .connectionClose, data: data)
}

func event(_ conversation: String?, _ seq: Int?) -> WebSocketSessionStateMachine.HeldEvent {
    .init(conversation: conversation, frame: ByteBuffer(string: "e"), seq: seq)
}

/// Actions as short strings, so expectations read like the contract.
func describe(_ action: WebSocketSessionStateMachine.Action) -> String {
    switch action {
    case .none: "none"
    case .sendError(let error): "sendError(\(error.code.rawValue))"
    case .sendPong(let payload): "sendPong(\(String(buffer: payload)))"
    case .sendPing: "sendPing"
    case .authenticateHeaderToken: "authenticateHeaderToken"
    case .runOp(let command, let held): held.isEmpty ? "runOp(\(command.idJSON))" : "runOp(\(command.idJSON), releasing: \(describe(held)))"
    case .rejectOp(let command, let error): "rejectOp(\(command.idJSON), \(error.code.rawValue))"
    case .deliverHeld(let events): "deliverHeld(\(describe(events)))"
    case .sendClose(let code, let reason, false): "sendClose(\(code), \(reason))"
    case .sendClose(let code, _, true): "echo(\(code))"
    case .closeChannel: "closeChannel"
    case .cleanUp(let user): "cleanUp(\(user ?? "nil"))"
    }
}

func describe(_ action: WebSocketSessionStateMachine.LiveEventAction) -> String {
    switch action {
    case .deliver: "deliver"
    case .hold: "hold"
    case .drop: "drop"
    case .deliverHeld(let events): "deliverHeld(\(describe(events)))"
    }
}

func describe(_ action: WebSocketSessionStateMachine.AuthSuccessAction) -> String {
    switch action {
    case .register(let user): "register(\(user))"
    case .renewed: "renewed"
    case .refuse(let error): "refuse(\(error.code.rawValue))"
    case .ignore: "ignore"
    }
}

func describe(_ events: [WebSocketSessionStateMachine.HeldEvent]) -> String {
    events.map { "\($0.conversation ?? "-")#\($0.seq.map(String.init) ?? "-")" }.joined(separator: " ")
}
