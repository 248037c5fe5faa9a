/// The machine-readable code of an error the hub answers (`not_member`,
/// `rate_limited`, …): the same in REST bodies and WebSocket replies.
///
/// An extensible struct: clients may meet codes this version does not name.
public struct ErrorCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral,
    Codable
{
    /// The code as it appears in JSON.
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static let invalidRequest = ErrorCode(rawValue: "invalid_request")
    public static let unauthorized = ErrorCode(rawValue: "unauthorized")
    public static let tokenExpired = ErrorCode(rawValue: "token_expired")
    public static let forbidden = ErrorCode(rawValue: "forbidden")
    public static let notMember = ErrorCode(rawValue: "not_member")
    public static let notFound = ErrorCode(rawValue: "not_found")
    public static let conflict = ErrorCode(rawValue: "conflict")
    public static let usernameTaken = ErrorCode(rawValue: "username_taken")
    public static let tooLarge = ErrorCode(rawValue: "too_large")
    public static let rateLimited = ErrorCode(rawValue: "rate_limited")
    public static let unavailable = ErrorCode(rawValue: "unavailable")
    /// The user is banned (server API): tokens, refresh tokens and logins are refused.
    public static let banned = ErrorCode(rawValue: "banned")
    public static let unknownOp = ErrorCode(rawValue: "unknown_op")
    public static let internalError = ErrorCode(rawValue: "internal")

    public var description: String { rawValue }
}
