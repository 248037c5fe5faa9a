import SwitchboardProtocol

/// An error a client can see: a stable snake_case code and a human message.
///
/// Mapped to HTTP statuses and WebSocket close codes only at the edge.
public struct SwitchboardError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The machine-readable error code (`not_member`, `rate_limited`, ...), shared with clients.
    public typealias Code = ErrorCode

    /// What went wrong, as a code.
    public var code: Code
    /// What went wrong, for a human.
    public var message: String
    /// For `rate_limited`: seconds until a retry can succeed.
    public var retryAfter: Int?

    public init(_ code: Code, _ message: String, retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code.rawValue): \(message)" }

    public static func invalid(_ message: String) -> SwitchboardError { .init(.invalidRequest, message) }
    public static func notFound(_ message: String) -> SwitchboardError { .init(.notFound, message) }
    public static func forbidden(_ message: String) -> SwitchboardError { .init(.forbidden, message) }
    public static let unauthorized = SwitchboardError(.unauthorized, "missing or invalid credentials")
}
