import Foundation
import SwitchboardProtocol

/// An error the hub answered (`code` as in the protocol: `not_member`, `rate_limited`…).
public struct ChatError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String

    public init(code: ErrorCode, message: String) {
        self.code = code
        self.message = message
    }

    /// The connection dropped before the reply came.
    public static let disconnected = ChatError(code: "disconnected", message: "the connection closed before the reply")
    /// No reply within the request timeout.
    public static let timeout = ChatError(code: "timeout", message: "no reply in time")
    /// The client was closed.
    public static let closed = ChatError(code: "closed", message: "the client was closed")

    public var description: String { "\(code): \(message)" }
}

/// What the client reports.
public enum ChatEvent: Sendable {
    /// A new message (live or replayed by resume), at most once per seq.
    case message(Message)
    case messageEdited(Message)
    case messageDeleted(Message)
    case typing(conv: String, user: String, active: Bool)
    case read(conv: String, user: String, seq: Int)
    case presence(user: String, status: PresenceStatus, lastSeen: Int?)
    /// A reaction was added (`on`) or removed; `count` is the emoji's count now.
    case reaction(conv: String, id: String, emoji: String, user: String, on: Bool, count: Int)
    /// A message was pinned (`on`) or unpinned.
    case pin(conv: String, id: String, on: Bool, by: String)
    /// A member's delivered pointer moved (direct and group conversations).
    case delivered(conv: String, user: String, seq: Int)
    /// A `conversation` event. `conversation.members` is the member list as
    /// this client knows it (the hub sends it whole with `added`, and only
    /// what changed with `updated`: `members` then holds that change, already
    /// applied); nil when the client never got the list (fetch it with REST
    /// and hand it over with `setMembers`).
    case conversation(Conversation, change: String, members: MemberChanges?)
    /// A user this user follows created a post (only while connected).
    case post(Post)
    /// A `notification` event, or anything newer than this SDK: the raw JSON.
    case other(name: String, json: String)
    /// Connected and authenticated (again); `resumed` lists what resume recovered.
    case connected(resumed: [String: Int], complete: Bool)
    /// The conversation was deleted and opened again under the same id (a
    /// new epoch, seq counting from 1 again): the client dropped what it held
    /// of it (position, de-duplication) and starts it over; the app should
    /// drop its copy of the old messages. Messages of the new epoch follow
    /// as `.message` events.
    case conversationReset(conv: String)
    /// The connection dropped; the client reconnects by itself.
    case disconnected(closeCode: CloseCode?)
}

/// A reply object from the hub, as parsed JSON.
public struct ChatReply: @unchecked Sendable {
    /// The reply's fields (immutable once parsed).
    public let object: [String: Any]
}
