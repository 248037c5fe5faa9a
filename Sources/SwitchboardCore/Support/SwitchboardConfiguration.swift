/// Everything a node can be configured with. Every field has a default, so
/// `SwitchboardConfiguration()` is a working local setup.
public struct SwitchboardConfiguration: Sendable {
    /// Address the HTTP/WebSocket server binds.
    public var host: String = "127.0.0.1"
    /// Port the HTTP/WebSocket server binds (0 picks a free one).
    public var port: Int = 8080
    /// Redis URL; nil starts an embedded redis-server (see `EmbeddedRedis`).
    public var redisURL: String?
    /// Command connections to Redis per node (each pipelines many requests).
    public var redisPoolSize: Int = 4
    /// This node's id, unique among live nodes (default: random).
    public var nodeID: String = "n_" + RandomID.make(length: 8)
    /// Prefix of every Redis key and channel.
    public var prefix: String = "sb:"
    /// Authentication settings.
    public var auth = AuthConfiguration()
    /// Size and rate limits.
    public var limits = Limits()
    /// WebSocket sessions and fan-out.
    public var live = LiveConfiguration()
    /// Messages kept per conversation stream (`XADD MAXLEN ~`); 0 keeps all.
    public var retention: Int = 100_000
    /// Serve the browser app at `/` and the JavaScript SDK at `/sdk/switchboard.js`
    /// (the files of `web/`, embedded in the binary). Off: those paths answer 404.
    public var web: Bool = true
    /// Seconds an HTTP connection may stay silent between requests, or
    /// while a request body is being read, before it is closed.
    public var httpIdleTimeout: Double = 60
    /// Seconds a new connection has to send its first complete request head
    /// (a WebSocket upgrade included) before it is closed.
    public var httpHeaderTimeout: Double = 10
    /// Browser origins allowed to open a WebSocket besides the request's own
    /// (`scheme://host[:port]`; `*` allows all). Upgrades without `Origin` are allowed.
    public var allowedOrigins: [String] = []

    public init() {}
}

/// Tokens and passwords.
public struct AuthConfiguration: Sendable {
    /// HS256 signing key; nil uses one generated once and shared through Redis.
    public var jwtSecret: String?
    /// `iss` claim of issued tokens, checked on validation.
    public var issuer: String = "switchboard"
    /// `aud` claim of issued tokens, checked on validation.
    public var audience: String = "switchboard"
    /// Access token lifetime in seconds.
    public var accessTokenTTL: Int = 15 * 60
    /// Refresh token lifetime in seconds.
    public var refreshTokenTTL: Int = 7 * 24 * 3600
    /// Clock skew tolerated on `exp`/`nbf`/`iat`, in seconds.
    public var leeway: Int = 30
    /// scrypt cost parameter N (a power of two).
    public var scryptN: UInt64 = 1 << 15
    /// scrypt block size r.
    public var scryptR: UInt64 = 8
    /// scrypt parallelism p.
    public var scryptP: UInt64 = 1
    /// Tokens minted by the app's own backend: accepted when signed with this
    /// HS256 secret and carrying `externalIssuer` as `iss`.
    public var externalSecret: String?
    /// The `iss` required of external tokens.
    public var externalIssuer: String?
    /// The `aud` required of external tokens (nil: not checked).
    public var externalAudience: String?

    public init() {}
}

/// Size and rate limits; the defaults are the contract's.
public struct Limits: Sendable {
    /// Characters of one message text.
    public var messageLength: Int = 4096
    /// Bytes of one WebSocket message.
    public var webSocketMessageSize: Int = 64 * 1024
    /// Bytes of one HTTP request body.
    public var httpBodySize: Int = 1024 * 1024
    /// Sends per user: bucket size.
    public var sendBurst: Int = 200
    /// Sends per user: tokens per second.
    public var sendRefillPerSecond: Double = 50
    /// Seconds between two syncs of a node's send budgets with the users'
    /// shared buckets in Redis (what a node may overshoot the budget by).
    public var sendSyncInterval: Double = 0.2
    /// Login attempts per username and address, per minute.
    public var loginPerMinute: Int = 10
    /// Registrations per address, per minute.
    public var registrationsPerMinute: Int = 30
    /// `typing` commands per user, per minute (`active: false` included).
    public var typingPerMinute: Int = 120
    /// Presence status changes per user, per minute.
    public var statusPerMinute: Int = 20
    /// Message edits and deletes per user, per minute (REST and WebSocket together).
    public var editsPerMinute: Int = 120
    /// Members added or removed by one user, per minute (room joins and leaves included).
    public var membershipChangesPerMinute: Int = 30
    /// Conversations created per user, per minute.
    public var conversationsPerMinute: Int = 20

    public init() {}
}

/// WebSocket sessions and fan-out.
public struct LiveConfiguration: Sendable {
    /// Seconds a new connection has to authenticate.
    public var authTimeout: Double = 5
    /// Seconds between server pings on a connection.
    public var pingInterval: Double = 30
    /// Seconds a pong may take before the connection is dropped.
    public var pongTimeout: Double = 30
    /// Frames an outbound queue may hold before the connection is closed with 4008.
    public var outboundMaxFrames: Int = 512
    /// Bytes an outbound queue may hold before the connection is closed with 4008.
    public var outboundMaxBytes: Int = 512 * 1024
    /// Messages replayed per conversation by `resume`.
    public var resumeLimit: Int = 1000
    /// Seconds live events wait after authentication for a `resume` the client
    /// announced (`resume=1` in the upgrade URL, or `auth` with `"resume": true`).
    public var resumeHoldTime: Double = 1
    /// Open WebSockets per user on one node; one more is closed with 4013.
    public var maxConnectionsPerUser: Int = 20
    /// Users one connection may watch with `presence.watch` (unknown ids count too).
    public var maxWatchedUsers: Int = 1000
    /// Seconds between two `typing` events of one user in one conversation.
    public var typingInterval: Double = 2
    /// Seconds a closing connection waits for its close frame to leave before the socket is dropped.
    public var closeTimeout: Double = 5
    /// Refused sends in a row after which the connection is closed with 4029.
    public var abuseCloseAfter: Int = 100
    /// Seconds presence, socket and node entries live without a heartbeat;
    /// the heartbeat runs every third of it. A dead node's users go offline
    /// within two of these.
    public var presenceTTL: Double = 30
    /// Hand freed heap memory back to the kernel at every heartbeat (glibc).
    public var mallocTrim: Bool = true
    /// Notifications kept per user.
    public var notificationsKept: Int = 100
    /// Seconds a notification lives.
    public var notificationTTL: Int = 86_400

    public init() {}
}
