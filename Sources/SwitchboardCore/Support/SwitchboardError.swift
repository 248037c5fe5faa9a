/// An error a client can see: a stable snake_case code and a human message.
///
/// Mapped to HTTP statuses and WebSocket close codes only at the edge.
public struct SwitchboardError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The machine-readable error code (`not_member`, `rate_limited`, ...).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The code as it appears in JSON.
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        public static let invalidRequest = Code("invalid_request")
        public static let unauthorized = Code("unauthorized")
        public static let tokenExpired = Code("token_expired")
        public static let forbidden = Code("forbidden")
        public static let notMember = Code("not_member")
        public static let notFound = Code("not_found")
        public static let conflict = Code("conflict")
        public static let usernameTaken = Code("username_taken")
        public static let tooLarge = Code("too_large")
        public static let rateLimited = Code("rate_limited")
        public static let unavailable = Code("unavailable")
        public static let unknownOp = Code("unknown_op")
        public static let internalError = Code("internal")

        public var description: String { rawValue }
    }

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
