import NIOCore
import SwitchboardCore

extension WebSocketSession {
    /// `react {conv, msg, emoji, on}`: adds or removes the user's reaction;
    /// answers `{"count":n}` (the `reaction` event reaches the others). The
    /// message id is `msg` as in `edit` and `delete`; without `msg`, the
    /// command's `id` is taken as the message id (`react {conv, id, emoji, on}`).
    func react(_ command: ClientCommand, user: String) throws(SwitchboardError) -> EventLoopFuture<String> {
        let conversation = try conversationID(command)
        let message: String
        if let given = try command.optionalString("msg", maxLength: 64) {
            message = given
        } else {
            message = try command.string("id", maxLength: 64)
        }
        let emoji = try command.string("emoji", maxLength: 64)
        let on = try command.bool("on")
        let origin = connectionID
        let (switchboard, limits) = (live.switchboard, live.switchboard.configuration.limits)
        return task {
            try await switchboard.rateLimiter.throttle(.react, user: user, limits: limits)
            let result = try await switchboard.conversations.react(
                conversation, user: user, message: message, emoji: emoji, on: on, origin: origin)
            return #""count":"# + String(result.count)
        }
    }

    /// `delivered {conv, seq}`: moves the user's delivered pointer forward;
    /// answers `{"seq":pointer}`.
    func delivered(_ command: ClientCommand, user: String) throws(SwitchboardError) -> EventLoopFuture<String> {
        let conversation = try conversationID(command)
        let seq = try command.int("seq")
        let conversations = live.switchboard.conversations
        return task {
            let pointer = try await conversations.markDelivered(conversation, user: user, seq: seq)
            return #""seq":"# + String(pointer)
        }
    }
}
