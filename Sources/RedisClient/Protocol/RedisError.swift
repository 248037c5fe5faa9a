/// An error from the Redis client: the connection, a timeout, or Redis' own error reply.
///
/// A struct over a private enum so new codes can be added without breaking callers.
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case connectionClosed, connectionFailed, timeout, server, protocolError, invalidURL, shutdown, tlsConfiguration, notMaster, crossSlot,
                clusterDown
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The connection dropped while the request was in flight or queued.
        public static let connectionClosed = Code(.connectionClosed)
        /// No connection could be established (Redis down, refused, or backing off after failures).
        public static let connectionFailed = Code(.connectionFailed)
        /// No reply within the configured request timeout.
        public static let timeout = Code(.timeout)
        /// Redis answered with an error reply; `message` holds its text.
        public static let server = Code(.server)
        /// The bytes from the server were not valid RESP.
        public static let protocolError = Code(.protocolError)
        /// The connection URL could not be parsed.
        public static let invalidURL = Code(.invalidURL)
        /// The client was shut down.
        public static let shutdown = Code(.shutdown)
        /// A TLS file (CA, certificate, key) is missing or invalid: retrying cannot help.
        public static let tlsConfiguration = Code(.tlsConfiguration)
        /// The server is not (or no longer) the master: a replica after a failover (`READONLY`, `ROLE`).
        public static let notMaster = Code(.notMaster)
        /// The keys of one command are in different cluster hash slots; the command was not sent.
        public static let crossSlot = Code(.crossSlot)
        /// The cluster has no reachable master for the slot, or redirects did not settle.
        public static let clusterDown = Code(.clusterDown)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// Human-readable detail; for `.server` exactly Redis' error text.
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// An error reply from Redis.
    public static func server(_ text: String) -> RedisError { RedisError(code: .server, message: text) }

    /// The first word of a server error (`WRONGTYPE`, `NOSCRIPT`, `ERR`), or nil for other codes.
    public var serverErrorPrefix: Substring? {
        guard code == .server else { return nil }
        return message.split(separator: " ", maxSplits: 1).first
    }

    /// Whether the failure means Redis could not be reached (as opposed to Redis refusing a command).
    public var isConnectionError: Bool {
        code == .connectionClosed || code == .connectionFailed || code == .timeout || code == .shutdown
            || code == .notMaster || code == .tlsConfiguration || code == .clusterDown
    }

    public var description: String { "RedisError(\(code)): \(message)" }
}
