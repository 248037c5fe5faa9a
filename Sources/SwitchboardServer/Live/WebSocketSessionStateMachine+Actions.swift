import NIOCore
import SwitchboardCore

/// What the state machine asks its session to do.
extension WebSocketSessionStateMachine {
    /// What the session does for an event.
    enum Action {
        case none
        /// Writes an `error` event: a text frame that is not a command.
        case sendError(SwitchboardError)
        /// Answers a ping with this payload.
        case sendPong(ByteBuffer)
        /// Pings the peer (it has been silent for `pingInterval`).
        case sendPing
        /// Verifies the upgrade's bearer token (an op: commands wait behind it); then `opFinished`.
        case authenticateHeaderToken
        /// Runs a command; `releasingHeld` goes out first (the hold ended). Then `opFinished`.
        case runOp(ClientCommand, releasingHeld: [HeldEvent])
        /// Answers a command with an error without running it; then `opFinished`.
        case rejectOp(ClientCommand, SwitchboardError)
        /// Ends the hold: these events go out now.
        case deliverHeld([HeldEvent])
        /// Sends a close frame, then closes the channel at once when `closeWhenWritten`
        /// (an echo), else when the peer answers or after a timeout.
        case sendClose(CloseCode, reason: String, closeWhenWritten: Bool)
        /// Closes the channel without a close frame.
        case closeChannel
        /// Gives back the connection's presence and subscriptions (exactly once).
        case cleanUp(user: String?)
    }

    /// What becomes of a live event.
    enum LiveEventAction {
        /// Write it now.
        case deliver
        /// Kept until the hold ends.
        case hold
        /// Not for this connection (yet, or any more).
        case drop
        /// The hold overflowed: these events, the new one last, go out now.
        case deliverHeld([HeldEvent])
    }

    /// What becomes of a token that verified.
    enum AuthSuccessAction {
        /// The first authentication: register the user's subscriptions and presence.
        case register(user: String)
        /// A renewal moved the expiry.
        case renewed
        /// The token belongs to another user than the connection's.
        case refuse(SwitchboardError)
        /// The connection is closing: register nothing.
        case ignore
    }
}
