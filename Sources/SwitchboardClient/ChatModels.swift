import Foundation

/// A message as the hub sends it.
public struct ChatMessage: Codable, Sendable, Hashable {
    public var id: String
    public var conv: String
    public var seq: Int
    public var from: String
    public var kind: String
    public var text: String
    public var ts: Int
    public var nonce: String?
    public var editedAt: Int?
    public var deleted: Bool?
}

/// An error the hub answered (`code` as in the protocol: `not_member`, `rate_limited`…).
public struct ChatError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
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
    case message(ChatMessage)
    case messageEdited(ChatMessage)
    case messageDeleted(ChatMessage)
    case typing(conv: String, user: String, active: Bool)
    case read(conv: String, user: String, seq: Int)
    case presence(user: String, status: String, lastSeen: Int?)
    /// A `conversation` or `notification` event, or anything newer than this SDK: the raw JSON.
    case other(name: String, json: String)
    /// Connected and authenticated (again); `resumed` lists what resume recovered.
    case connected(resumed: [String: Int], complete: Bool)
    /// The connection dropped; the client reconnects by itself.
    case disconnected(closeCode: UInt16?)
}

/// A reply object from the hub, as parsed JSON.
public struct ChatReply: @unchecked Sendable {
    /// The reply's fields (immutable once parsed).
    public let object: [String: Any]
}
