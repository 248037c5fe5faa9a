/// A WebSocket close code the hub sends, named once.
///
/// Codes 1000–1011 are RFC 6455's; 4000–4999 are the hub's own (the protocol
/// documents each in `docs/protocol.md`). An extensible struct: a client may
/// meet a code this version does not name.
public struct CloseCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The connection ends normally (also the answer to a client's close without a code).
    public static let normal = CloseCode(rawValue: 1000)
    /// The node is shutting down: reconnect (through the load balancer) and `resume`.
    public static let goingAway = CloseCode(rawValue: 1001)
    /// A frame broke RFC 6455.
    public static let protocolError = CloseCode(rawValue: 1002)
    /// A binary frame: the protocol is JSON text only.
    public static let unsupportedData = CloseCode(rawValue: 1003)
    /// The peer's close carried no status (never sent on the wire).
    public static let noStatus = CloseCode(rawValue: 1005)
    /// The connection dropped without a close frame (never sent on the wire).
    public static let abnormal = CloseCode(rawValue: 1006)
    /// A text frame that is not valid UTF-8.
    public static let invalidPayload = CloseCode(rawValue: 1007)
    /// A frame or message over the size limit.
    public static let messageTooLarge = CloseCode(rawValue: 1009)
    /// No valid authentication (none in time, or a bad token): do not reconnect with the same token.
    public static let unauthorized = CloseCode(rawValue: 4001)
    /// Access was taken away (the user was disconnected or banned): do not reconnect.
    public static let forbidden = CloseCode(rawValue: 4003)
    /// The client did not read fast enough: its outbound queue overflowed. Reconnect and `resume`.
    public static let slowConsumer = CloseCode(rawValue: 4008)
    /// The access token expired: refresh it, reconnect and `resume`.
    public static let tokenExpired = CloseCode(rawValue: 4009)
    /// The user has too many open connections (`--max-connections-per-user`): close another one first.
    public static let tooManyConnections = CloseCode(rawValue: 4013)
    /// Too many refused commands in a row, or too many in flight.
    public static let rateLimited = CloseCode(rawValue: 4029)

    /// Whether a client should stop reconnecting after this code.
    public var isFinal: Bool { self == .unauthorized || self == .forbidden }

    public var description: String { String(rawValue) }
}
