import RedisClient

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
    /// Files and name for TLS to Redis, used when `redisURL` is `rediss://`.
    public var redisTLS = RedisTLSConfiguration()
    /// Sentinels (`host:port`) that monitor the master; empty connects to `redisURL`'s host.
    /// With sentinels, `redisURL` gives only the scheme, credentials and database.
    public var redisSentinels: [String] = []
    /// Seed nodes (`host:port`) of a Redis Cluster; empty talks to one Redis
    /// (or Sentinel). With seeds, `redisURL` gives only the scheme (`rediss://`
    /// for TLS) and credentials; commands are routed by hash slot and live
    /// events use sharded pub/sub. Exclusive with `redisSentinels`.
    public var redisClusterSeeds: [String] = []
    /// The name the sentinels monitor the master under.
    public var redisSentinelMaster: String = "mymaster"
    /// Password of the sentinels themselves; nil sends no AUTH to them.
    public var redisSentinelPassword: String?
    /// Replicas that must have a message before its send is acknowledged
    /// (`WAIT N` after the send script, on its connection); 0 acknowledges
    /// as soon as the master has it.
    public var redisWaitReplicas: Int = 0
    /// Milliseconds `WAIT` may take; after it the send is acknowledged anyway (and logged).
    public var redisWaitTimeout: Int = 1000
    /// Whether Redis is a Redis Cluster. Then the scripts publish with
    /// `SPUBLISH` (sharded pub/sub, in the slot of their own keys) and the hub
    /// subscribes with `SSUBSCRIBE`, `post_fanout` takes one follower per call,
    /// and the event stream (one key, so one slot) is refused. Set by
    /// `--redis-cluster-mode` (a single-node cluster at `redisURL`, as the tests
    /// run one); the cluster client's `--redis-cluster` sets it too.
    public var redisClusterMode: Bool = false

    /// Whether the keys live on a Redis Cluster: `--redis-cluster-mode on`
    /// or cluster seeds (`--redis-cluster`).
    public var isClusterMode: Bool { redisClusterMode || !redisClusterSeeds.isEmpty }
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
    /// Posts, follows and feeds.
    public var posts = PostsConfiguration()
    /// Uploads and attachments.
    public var uploads = UploadsConfiguration()
    /// Messages kept per conversation stream (`XADD MAXLEN ~`); 0 keeps all.
    public var retention: Int = 100_000
    /// Serve the browser app at `/` and the JavaScript SDK at `/sdk/switchboard.js`
    /// (the files of `web/`, embedded in the binary). Off: those paths answer 404.
    public var web: Bool = true
    /// Peers (load balancers, reverse proxies) whose forwarding header is
    /// believed for the client address of rate limits, as CIDR ranges
    /// (`10.0.0.0/8`, `::1/128`). Empty: the TCP peer is the client.
    public var trustedProxies: [String] = []
    /// The header those proxies write the client address to.
    public var forwardedHeader: ForwardedHeader = .xForwardedFor
    /// The event stream for the app's backend (`sb:events`).
    public var events = EventsConfiguration()
    /// Delivery of the event stream to the app's backend over HTTP.
    public var webhook = WebhookConfiguration()
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

/// Webhooks: the nodes deliver every event of the stream to one URL (see `WebhookService`).
public struct WebhookConfiguration: Sendable {
    /// Where events are POSTed; nil: no webhooks.
    public var url: String?
    /// Key of the `X-Switchboard-Signature` HMAC-SHA256.
    public var secret: String = ""
    /// Attempts per event before it moves to `<prefix>events:dead`.
    public var maxAttempts: Int = 10
    /// Seconds before the first retry; doubled after each failure, with jitter.
    public var initialBackoff: Double = 1
    /// Seconds between retries at most.
    public var maxBackoff: Double = 60
    /// Seconds one request may take.
    public var timeout: Double = 10
    /// The consumer group of the stream that tracks deliveries.
    public var group: String = "webhooks"
    /// Seconds the delivering node holds its lease without renewing it; another node takes over after.
    public var leaseTTL: Double = 15

    public init() {}
}

/// The event stream every state change appends to (see `EventStream`).
public struct EventsConfiguration: Sendable {
    /// Off: the scripts append nothing, at no cost.
    public var enabled: Bool = true
    /// Entries kept (`XADD MAXLEN ~`); 0 keeps all.
    public var maxLength: Int = 1_000_000
    /// Also append `read.updated` (one per read pointer move: high volume).
    public var includeRead: Bool = false

    public init() {}
}

/// Which forwarding header trusted proxies write. Only one is read: a
/// proxy passes the other one through from the client untouched.
public enum ForwardedHeader: String, Sendable, CaseIterable {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    case xForwardedFor = "x-forwarded-for"
    /// RFC 7239 `Forwarded: for=client;proto=https, for=proxy1`.
    case forwarded
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
    /// scrypt parallelism p. 3 with N = 2^15: one of OWASP's equivalent
    /// settings (as strong as N = 2^17, p = 1) at a quarter of the memory;
    /// measured in docs/configuration.md#passwords.
    public var scryptP: UInt64 = 3
    /// Tokens minted by the app's own backend: accepted when signed with this
    /// HS256 secret and carrying `externalIssuer` as `iss`.
    public var externalSecret: String?
    /// The `iss` required of external tokens.
    public var externalIssuer: String?
    /// The `aud` required of external tokens (nil: not checked).
    public var externalAudience: String?
    /// Keys of the server API (`/api/v1/server/*`) for the app's backend; empty: the server API refuses everything.
    public var serverAPIKeys: [String] = []

    public init() {}
}

/// Size and rate limits; the defaults are the contract's.
///
/// Every text limit is in UTF-8 bytes, and some also cap characters
/// (grapheme clusters): one character can carry thousands of combining
/// marks, so a character count alone bounds nothing. `check(_:_:)` is the
/// one place that applies them, for REST and WebSocket alike.
public struct Limits: Sendable {
    /// Characters of one message text.
    public var messageLength: Int = 4096
    /// UTF-8 bytes of one message text.
    public var messageBytes: Int = 16 * 1024
    /// Characters of a display name.
    public var displayNameLength: Int = 64
    /// UTF-8 bytes of a display name.
    public var displayNameBytes: Int = 256
    /// Characters of a profile bio.
    public var bioLength: Int = 1000
    /// UTF-8 bytes of a profile bio.
    public var bioBytes: Int = 4000
    /// UTF-8 bytes of an avatar (a URL or a short data string).
    public var avatarBytes: Int = 2048
    /// Characters of a group or room name.
    public var conversationNameLength: Int = 100
    /// UTF-8 bytes of a group or room name.
    public var conversationNameBytes: Int = 400
    /// Characters of a conversation description.
    public var descriptionLength: Int = 1000
    /// UTF-8 bytes of a conversation description.
    public var descriptionBytes: Int = 4000
    /// UTF-8 bytes of a username (at least 3; only `A-Z a-z 0-9 _ . -`, so bytes are characters).
    public var usernameBytes: Int = 32
    /// UTF-8 bytes of a password (at least 8).
    public var passwordBytes: Int = 1024
    /// UTF-8 bytes of a send's `nonce` (at least 1).
    public var nonceBytes: Int = 128
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
    /// Login attempts per address across all usernames, per minute.
    public var loginPerAddressPerMinute: Int = 30
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
    /// Reactions added or removed per user, per minute (REST and WebSocket together).
    public var reactionsPerMinute: Int = 120
    /// Different emoji one message may carry.
    public var reactionsPerMessage: Int = 20
    /// Pinned messages per conversation.
    public var pinsPerConversation: Int = 50

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

extension SwitchboardConfiguration {
    /// Refuses settings a node must not run with: HMAC keys shorter than
    /// 32 bytes (the signing key and the external secret alike), an external
    /// secret without its issuer (or back), malformed trusted-proxy ranges.
    public func validate() throws(SwitchboardError) {
        if let secret = auth.jwtSecret, secret.utf8.count < 32 {
            throw .invalid("auth.jwtSecret must be at least 32 bytes")
        }
        if let secret = auth.externalSecret, secret.utf8.count < 32 {
            throw .invalid("auth.externalSecret must be at least 32 bytes")
        }
        if (auth.externalSecret == nil) != (auth.externalIssuer == nil) {
            throw .invalid("auth.externalSecret and auth.externalIssuer go together")
        }
        for entry in trustedProxies where CIDR(entry) == nil {
            throw .invalid("trustedProxies: not a CIDR range: \(entry)")
        }
    }
}
