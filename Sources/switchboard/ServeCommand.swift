import ArgumentParser
import Foundation
import Logging
import RedisClient
import ServiceLifecycle
import SwitchboardCore
import SwitchboardServer
import UnixSignals

/// The defaults of every option: the configuration's own (one place holds each value).
private let defaults = SwitchboardConfiguration()

/// `switchboard serve`: runs one node until SIGTERM/SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run a Switchboard node.")

    @Option(help: "Address to bind (env SWITCHBOARD_HOST).")
    var host: String = env("SWITCHBOARD_HOST") ?? defaults.host

    @Option(help: "Port to bind, 0 for any free port (env SWITCHBOARD_PORT).")
    var port: Int = env("SWITCHBOARD_PORT").flatMap { Int($0) } ?? defaults.port

    @Option(
        help:
            "Redis URL, redis://[user:password@]host:port[/db], rediss://… for TLS, or unix:///path (env SWITCHBOARD_REDIS_URL). Without one (and without --redis-sentinel), an embedded redis-server is started."
    )
    var redisURL: String? = env("SWITCHBOARD_REDIS_URL")

    @Option(
        help: "PEM file of the CA that signed Redis' certificate, for rediss:// (env SWITCHBOARD_REDIS_CA_FILE; default: the system's trust roots).")
    var redisCAFile: String? = env("SWITCHBOARD_REDIS_CA_FILE")

    @Option(help: "Name Redis' certificate must carry, and the SNI sent (env SWITCHBOARD_REDIS_TLS_SERVER_NAME; default: the host connected to).")
    var redisTLSServerName: String? = env("SWITCHBOARD_REDIS_TLS_SERVER_NAME")

    @Option(help: "PEM client certificate for Redis servers that require one (env SWITCHBOARD_REDIS_CERT_FILE).")
    var redisCertFile: String? = env("SWITCHBOARD_REDIS_CERT_FILE")

    @Option(help: "PEM private key of --redis-cert-file (env SWITCHBOARD_REDIS_KEY_FILE).")
    var redisKeyFile: String? = env("SWITCHBOARD_REDIS_KEY_FILE")

    @Option(
        help:
            "Sentinels host:port,host:port that monitor the master (env SWITCHBOARD_REDIS_SENTINEL). --redis-url then gives only the scheme, credentials and database."
    )
    var redisSentinel: String? = env("SWITCHBOARD_REDIS_SENTINEL")

    @Option(
        help:
            "Redis Cluster seed nodes host:port,host:port (env SWITCHBOARD_REDIS_CLUSTER): commands routed by hash slot, sharded pub/sub. --redis-url then gives only the scheme (rediss:// for TLS) and credentials. Exclusive with --redis-sentinel."
    )
    var redisCluster: String? = env("SWITCHBOARD_REDIS_CLUSTER")

    @Option(help: "Name the sentinels monitor the master under (env SWITCHBOARD_REDIS_SENTINEL_MASTER).")
    var redisSentinelMaster: String = env("SWITCHBOARD_REDIS_SENTINEL_MASTER") ?? "mymaster"

    @Option(help: "Password of the sentinels themselves (env SWITCHBOARD_REDIS_SENTINEL_PASSWORD).")
    var redisSentinelPassword: String? = env("SWITCHBOARD_REDIS_SENTINEL_PASSWORD")

    @Option(help: "Replicas that must have a message before its send is acknowledged, with WAIT; 0 = off (env SWITCHBOARD_REDIS_WAIT_REPLICAS).")
    var redisWaitReplicas: Int = env("SWITCHBOARD_REDIS_WAIT_REPLICAS").flatMap { Int($0) } ?? defaults.redisWaitReplicas

    @Option(help: "Milliseconds WAIT may take before the send is acknowledged anyway (env SWITCHBOARD_REDIS_WAIT_TIMEOUT_MS).")
    var redisWaitTimeoutMs: Int = env("SWITCHBOARD_REDIS_WAIT_TIMEOUT_MS").flatMap { Int($0) } ?? defaults.redisWaitTimeout

    @Option(
        help: """
            on: Redis at --redis-url is a Redis Cluster (a single-node one, as the tests run it): the scripts SPUBLISH, \
            the hub SSUBSCRIBEs, and the event stream is off (env SWITCHBOARD_REDIS_CLUSTER_MODE; default off).
            """)
    var redisClusterMode: String = env("SWITCHBOARD_REDIS_CLUSTER_MODE") ?? "off"

    @Option(help: "Folder of the embedded redis-server's data (env SWITCHBOARD_DATA_DIR).")
    var dataDir: String = env("SWITCHBOARD_DATA_DIR") ?? ".switchboard"

    @Option(help: "This node's id, unique among live nodes (env SWITCHBOARD_NODE_ID; default random).")
    var nodeID: String? = env("SWITCHBOARD_NODE_ID")

    @Option(help: "Prefix of every Redis key and channel (env SWITCHBOARD_PREFIX).")
    var prefix: String = env("SWITCHBOARD_PREFIX") ?? defaults.prefix

    @Option(help: "Command connections to Redis (env SWITCHBOARD_REDIS_POOL).")
    var redisPool: Int = env("SWITCHBOARD_REDIS_POOL").flatMap { Int($0) } ?? defaults.redisPoolSize

    @Option(help: "HS256 signing secret, at least 32 bytes (env SWITCHBOARD_JWT_SECRET; default: generated once and shared through Redis).")
    var jwtSecret: String? = env("SWITCHBOARD_JWT_SECRET")

    @Option(help: "Access token lifetime in seconds (env SWITCHBOARD_ACCESS_TTL).")
    var accessTTL: Int = env("SWITCHBOARD_ACCESS_TTL").flatMap { Int($0) } ?? defaults.auth.accessTokenTTL

    @Option(help: "Refresh token lifetime in seconds (env SWITCHBOARD_REFRESH_TTL).")
    var refreshTTL: Int = env("SWITCHBOARD_REFRESH_TTL").flatMap { Int($0) } ?? defaults.auth.refreshTokenTTL

    @Option(help: "HS256 secret of tokens minted by your own backend (env SWITCHBOARD_EXTERNAL_JWT_SECRET).")
    var externalJWTSecret: String? = env("SWITCHBOARD_EXTERNAL_JWT_SECRET")

    @Option(help: "Required `iss` of external tokens (env SWITCHBOARD_EXTERNAL_JWT_ISSUER).")
    var externalJWTIssuer: String? = env("SWITCHBOARD_EXTERNAL_JWT_ISSUER")

    @Option(help: "Required `aud` of external tokens, if any (env SWITCHBOARD_EXTERNAL_JWT_AUDIENCE).")
    var externalJWTAudience: String? = env("SWITCHBOARD_EXTERNAL_JWT_AUDIENCE")

    @Option(help: "Key of the server API (/api/v1/server/*) for your backend, repeatable (env SWITCHBOARD_SERVER_API_KEYS, comma-separated).")
    var serverAPIKey: [String] = env("SWITCHBOARD_SERVER_API_KEYS").map { $0.split(separator: ",").map(String.init) } ?? []

    @Option(help: "Login attempts per username and address per minute (env SWITCHBOARD_LOGIN_LIMIT).")
    var loginLimit: Int = env("SWITCHBOARD_LOGIN_LIMIT").flatMap { Int($0) } ?? defaults.limits.loginPerMinute

    @Option(help: "Login attempts per address per minute, across usernames (env SWITCHBOARD_LOGIN_ADDRESS_LIMIT).")
    var loginAddressLimit: Int = env("SWITCHBOARD_LOGIN_ADDRESS_LIMIT").flatMap { Int($0) } ?? defaults.limits.loginPerAddressPerMinute

    @Option(help: "Registrations per address per minute (env SWITCHBOARD_REGISTER_LIMIT).")
    var registerLimit: Int = env("SWITCHBOARD_REGISTER_LIMIT").flatMap { Int($0) } ?? defaults.limits.registrationsPerMinute

    @Option(
        help: """
            Comma-separated CIDR ranges of proxies whose forwarding header gives the client address of rate limits \
            (env SWITCHBOARD_TRUSTED_PROXIES; default none: the TCP peer is the client).
            """)
    var trustedProxies: String? = env("SWITCHBOARD_TRUSTED_PROXIES")

    @Option(help: "Header the trusted proxies write: x-forwarded-for or forwarded (env SWITCHBOARD_FORWARDED_HEADER).")
    var forwardedHeader: String = env("SWITCHBOARD_FORWARDED_HEADER") ?? defaults.forwardedHeader.rawValue

    @Option(help: "Messages kept per conversation, 0 = all (env SWITCHBOARD_RETENTION).")
    var retention: Int = env("SWITCHBOARD_RETENTION").flatMap { Int($0) } ?? defaults.retention

    @Option(
        name: .customLong("events"),
        help:
            "The event stream of every state change for your backend: on or off (env SWITCHBOARD_EVENTS; default on; one stream per hash slot on Redis Cluster)."
    )
    var eventsOption: String? = env("SWITCHBOARD_EVENTS")

    /// `--events`, on unless said otherwise.
    var events: String { eventsOption ?? "on" }
    /// A cluster by `--redis-cluster` seeds or `--redis-cluster-mode on`.
    var clusterMode: Bool { redisClusterMode == "on" || redisCluster != nil }

    @Option(help: "Entries kept in the event stream, MAXLEN ~; 0 = all (env SWITCHBOARD_EVENTS_MAXLEN).")
    var eventsMaxlen: Int = env("SWITCHBOARD_EVENTS_MAXLEN").flatMap { Int($0) } ?? 1_000_000

    @Option(help: "Opt-in high-volume event types, repeatable: read (read.updated) (env SWITCHBOARD_EVENTS_INCLUDE, comma-separated).")
    var eventsInclude: [String] = env("SWITCHBOARD_EVENTS_INCLUDE").map { $0.split(separator: ",").map(String.init) } ?? []

    @Option(help: "POST every event of the stream to this URL (env SWITCHBOARD_WEBHOOK_URL).")
    var webhookURL: String? = env("SWITCHBOARD_WEBHOOK_URL")

    @Option(help: "Key of the X-Switchboard-Signature HMAC-SHA256 of webhook bodies (env SWITCHBOARD_WEBHOOK_SECRET).")
    var webhookSecret: String? = env("SWITCHBOARD_WEBHOOK_SECRET")

    @Option(help: "Attempts per event before it moves to <prefix>events:dead (env SWITCHBOARD_WEBHOOK_MAX_ATTEMPTS).")
    var webhookMaxAttempts: Int = env("SWITCHBOARD_WEBHOOK_MAX_ATTEMPTS").flatMap { Int($0) } ?? 10

    @Option(help: "Seconds presence, socket and node entries live without a heartbeat (env SWITCHBOARD_PRESENCE_TTL).")
    var presenceTTL: Double = env("SWITCHBOARD_PRESENCE_TTL").flatMap { Double($0) } ?? defaults.live.presenceTTL

    @Option(help: "Send burst per user (env SWITCHBOARD_SEND_BURST).")
    var sendBurst: Int = env("SWITCHBOARD_SEND_BURST").flatMap { Int($0) } ?? defaults.limits.sendBurst

    @Option(help: "Sends per second per user, refill of the burst (env SWITCHBOARD_SEND_RATE).")
    var sendRate: Double = env("SWITCHBOARD_SEND_RATE").flatMap { Double($0) } ?? defaults.limits.sendRefillPerSecond

    @Option(
        help: """
            Authors with more followers than this get their posts merged into feeds at read time instead of written into \
            each follower's feed (env SWITCHBOARD_FEED_FANOUT_MAX).
            """)
    var feedFanoutMax: Int = env("SWITCHBOARD_FEED_FANOUT_MAX").flatMap { Int($0) } ?? defaults.posts.feedFanoutMax

    @Option(help: "Bytes of one upload; larger ones are refused with 413 too_large (env SWITCHBOARD_UPLOAD_MAX_BYTES).")
    var uploadMaxBytes: Int = env("SWITCHBOARD_UPLOAD_MAX_BYTES").flatMap { Int($0) } ?? defaults.uploads.maxBytes

    @Option(help: "Directory of the uploaded files, shared by every node (env SWITCHBOARD_UPLOAD_DIR).")
    var uploadDir: String = env("SWITCHBOARD_UPLOAD_DIR") ?? defaults.uploads.directory

    @Option(help: "Seconds an HTTP connection may stay silent between requests or within a body, 0 = no limit (env SWITCHBOARD_HTTP_IDLE_TIMEOUT).")
    var httpIdleTimeout: Double = env("SWITCHBOARD_HTTP_IDLE_TIMEOUT").flatMap { Double($0) } ?? 60

    @Option(help: "Seconds a new connection has to send its first complete request head, 0 = no limit (env SWITCHBOARD_HTTP_HEADER_TIMEOUT).")
    var httpHeaderTimeout: Double = env("SWITCHBOARD_HTTP_HEADER_TIMEOUT").flatMap { Double($0) } ?? 10

    @Option(help: "Comma-separated browser origins allowed to open a WebSocket besides the request's own, * = any (env SWITCHBOARD_ALLOWED_ORIGINS).")
    var allowedOrigins: String = env("SWITCHBOARD_ALLOWED_ORIGINS") ?? ""

    @Option(help: "Open WebSockets per user on one node (env SWITCHBOARD_MAX_CONNECTIONS_PER_USER).")
    var maxConnectionsPerUser: Int = env("SWITCHBOARD_MAX_CONNECTIONS_PER_USER").flatMap { Int($0) } ?? 20

    @Option(help: "Users one connection may watch with presence.watch (env SWITCHBOARD_MAX_WATCHED_USERS).")
    var maxWatchedUsers: Int = env("SWITCHBOARD_MAX_WATCHED_USERS").flatMap { Int($0) } ?? 1000

    @Option(help: "glibc malloc arenas at most, 0 = glibc's default of 8 per core (env SWITCHBOARD_MALLOC_ARENAS).")
    var mallocArenas: Int = env("SWITCHBOARD_MALLOC_ARENAS").flatMap { Int($0) } ?? 2

    @Flag(inversion: .prefixedNo, help: "Hand freed heap memory back to the kernel at every heartbeat (env SWITCHBOARD_MALLOC_TRIM=0 turns it off).")
    var mallocTrim: Bool = env("SWITCHBOARD_MALLOC_TRIM").map { $0 != "0" } ?? defaults.live.mallocTrim

    @Flag(
        inversion: .prefixedNo, help: "Serve the browser app at / and the JavaScript SDK at /sdk/switchboard.js (env SWITCHBOARD_WEB=0 turns it off)."
    )
    var web: Bool = env("SWITCHBOARD_WEB").map { !["0", "false", "no", "off"].contains($0.lowercased()) } ?? defaults.web

    @Option(help: "scrypt cost N for new password hashes, a power of two (env SWITCHBOARD_SCRYPT_N); lower only for tests.")
    var scryptN: UInt64 = env("SWITCHBOARD_SCRYPT_N").flatMap { UInt64($0) } ?? defaults.auth.scryptN

    @Option(help: "scrypt parallelism p for new password hashes, 1 to 16 (env SWITCHBOARD_SCRYPT_P).")
    var scryptP: UInt64 = env("SWITCHBOARD_SCRYPT_P").flatMap { UInt64($0) } ?? defaults.auth.scryptP

    @OptionGroup(title: "Throttles, caps and timeouts")
    var throttles: ThrottleOptions

    @Option(help: "Log level: trace, debug, info, notice, warning, error (env SWITCHBOARD_LOG_LEVEL).")
    var logLevel: String = env("SWITCHBOARD_LOG_LEVEL") ?? "info"

    @Option(help: "Log line format: logfmt or json (env SWITCHBOARD_LOG_FORMAT).")
    var logFormat: String = env("SWITCHBOARD_LOG_FORMAT") ?? "logfmt"

    func validate() throws {
        guard StructuredLogHandler.Format(rawValue: logFormat) != nil else {
            throw ValidationError("--log-format must be logfmt or json")
        }
        if let jwtSecret, jwtSecret.utf8.count < 32 {
            throw ValidationError("--jwt-secret must be at least 32 bytes")
        }
        if let externalJWTSecret, externalJWTSecret.utf8.count < 32 {
            throw ValidationError("--external-jwt-secret must be at least 32 bytes")
        }
        if (externalJWTSecret == nil) != (externalJWTIssuer == nil) {
            throw ValidationError("--external-jwt-secret and --external-jwt-issuer go together")
        }
        if let externalJWTIssuer, externalJWTIssuer == "switchboard" {
            throw ValidationError("--external-jwt-issuer must differ from the hub's own issuer (switchboard)")
        }
        if let nodeID, nodeID.isEmpty || nodeID.count > 64 || !nodeID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) })
        {
            throw ValidationError("--node-id: 1 to 64 characters of A-Z a-z 0-9 _ . -")
        }
        guard scryptN >= 2, scryptN & (scryptN - 1) == 0, scryptN <= 1 << 20 else {
            throw ValidationError("--scrypt-n must be a power of two between 2 and 2^20")
        }
        if let trustedProxies {
            do {
                _ = try CIDR.list(trustedProxies)
            } catch {
                throw ValidationError("--trusted-proxies: \(error.message)")
            }
        }
        guard ForwardedHeader(rawValue: forwardedHeader.lowercased()) != nil else {
            throw ValidationError("--forwarded-header must be x-forwarded-for or forwarded")
        }
        guard (1...16).contains(scryptP) else { throw ValidationError("--scrypt-p must be between 1 and 16") }
        guard events == "on" || events == "off" else { throw ValidationError("--events must be on or off") }
        guard redisClusterMode == "on" || redisClusterMode == "off" else { throw ValidationError("--redis-cluster-mode must be on or off") }
        if (webhookURL == nil) != (webhookSecret == nil) {
            throw ValidationError("--webhook-url and --webhook-secret go together")
        }
        if let webhookURL, !(webhookURL.hasPrefix("http://") || webhookURL.hasPrefix("https://")) {
            throw ValidationError("--webhook-url must be an http:// or https:// URL")
        }
        if webhookURL != nil, events == "off" { throw ValidationError("--webhook-url needs --events on") }
        guard webhookMaxAttempts >= 1 else { throw ValidationError("--webhook-max-attempts must be at least 1") }
        guard eventsMaxlen >= 0 else { throw ValidationError("--events-maxlen must be 0 or more") }
        for type in eventsInclude where type != "read" {
            throw ValidationError("--events-include: unknown type \(type) (known: read)")
        }
        for key in serverAPIKey where key.utf8.count < 16 {
            throw ValidationError("--server-api-key: each key at least 16 bytes (got one of \(key.utf8.count))")
        }
        guard uploadMaxBytes >= 1 else { throw ValidationError("--upload-max-bytes must be 1 or more") }
        guard feedFanoutMax >= 0 else { throw ValidationError("--feed-fanout-max must be 0 or more") }
        guard presenceTTL > 0 else { throw ValidationError("--presence-ttl must be positive") }
        guard httpIdleTimeout >= 0, httpHeaderTimeout >= 0 else { throw ValidationError("HTTP timeouts must be 0 or more") }
        guard maxConnectionsPerUser > 0, maxWatchedUsers >= 0 else {
            throw ValidationError("--max-connections-per-user must be positive, --max-watched-users 0 or more")
        }
        guard mallocArenas >= 0 else { throw ValidationError("--malloc-arenas must be 0 or more") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        let tlsURL = redisURL?.lowercased().hasPrefix("rediss://") == true
        if !tlsURL, redisCAFile != nil || redisTLSServerName != nil || redisCertFile != nil || redisKeyFile != nil {
            throw ValidationError(
                "--redis-ca-file, --redis-tls-server-name, --redis-cert-file and --redis-key-file need a rediss:// --redis-url"
                    + " (with --redis-cluster or --redis-sentinel, --redis-url rediss:// is enough: the host is not used)")
        }
        if (redisCertFile == nil) != (redisKeyFile == nil) {
            throw ValidationError("--redis-cert-file and --redis-key-file go together")
        }
        if let redisSentinel {
            do {
                _ = try RedisSentinelConfiguration.addresses(redisSentinel)
            } catch {
                throw ValidationError("--redis-sentinel: \(error.message)")
            }
            guard !redisSentinelMaster.isEmpty else { throw ValidationError("--redis-sentinel-master must not be empty") }
        }
        if let redisCluster {
            guard redisSentinel == nil else { throw ValidationError("--redis-cluster and --redis-sentinel are exclusive") }
            do {
                _ = try RedisClusterConfiguration.addresses(redisCluster)
            } catch {
                throw ValidationError("--redis-cluster: \(error.message)")
            }
        }
        guard redisWaitReplicas >= 0 else { throw ValidationError("--redis-wait-replicas must be 0 or more") }
        guard redisWaitTimeoutMs > 0 else { throw ValidationError("--redis-wait-timeout-ms must be positive") }
    }

    func run() async throws {
        MallocTuning.limitArenas(mallocArenas)
        let level = Logger.Level(rawValue: logLevel) ?? .info
        let format = StructuredLogHandler.Format(rawValue: logFormat) ?? .logfmt
        LoggingSystem.bootstrap { label in
            StructuredLogHandler(label: label, format: format, level: level)
        }
        let logger = Logger(label: "switchboard")
        var configuration = SwitchboardConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.prefix = prefix
        configuration.redisPoolSize = redisPool
        configuration.redisTLS = RedisTLSConfiguration(
            caFile: redisCAFile, serverName: redisTLSServerName, certificateFile: redisCertFile, keyFile: redisKeyFile)
        configuration.redisSentinels = redisSentinel.map { [$0] } ?? []
        configuration.redisSentinelMaster = redisSentinelMaster
        configuration.redisClusterSeeds = redisCluster.map { [$0] } ?? []
        configuration.redisSentinelPassword = redisSentinelPassword
        configuration.redisWaitReplicas = redisWaitReplicas
        configuration.redisWaitTimeout = redisWaitTimeoutMs
        configuration.retention = retention
        configuration.web = web
        configuration.trustedProxies = try trustedProxies.map { try CIDR.list($0).map(\.description) } ?? []
        configuration.forwardedHeader = ForwardedHeader(rawValue: forwardedHeader.lowercased()) ?? .xForwardedFor
        configuration.redisClusterMode = redisClusterMode == "on"
        configuration.events.enabled = events == "on"
        configuration.events.maxLength = eventsMaxlen
        configuration.events.includeRead = eventsInclude.contains("read")
        configuration.webhook.url = webhookURL
        configuration.webhook.secret = webhookSecret ?? ""
        configuration.webhook.maxAttempts = webhookMaxAttempts
        if let nodeID { configuration.nodeID = nodeID }
        configuration.auth.jwtSecret = jwtSecret
        configuration.auth.accessTokenTTL = accessTTL
        configuration.auth.refreshTokenTTL = refreshTTL
        configuration.auth.externalSecret = externalJWTSecret
        configuration.auth.externalIssuer = externalJWTIssuer
        configuration.auth.externalAudience = externalJWTAudience
        configuration.auth.serverAPIKeys = serverAPIKey
        configuration.limits.loginPerMinute = loginLimit
        configuration.limits.loginPerAddressPerMinute = loginAddressLimit
        configuration.limits.registrationsPerMinute = registerLimit
        configuration.limits.sendBurst = sendBurst
        configuration.limits.sendRefillPerSecond = sendRate
        configuration.live.presenceTTL = presenceTTL
        configuration.live.mallocTrim = mallocTrim
        configuration.posts.feedFanoutMax = feedFanoutMax
        configuration.uploads.maxBytes = uploadMaxBytes
        configuration.uploads.directory = uploadDir
        configuration.httpIdleTimeout = httpIdleTimeout
        configuration.httpHeaderTimeout = httpHeaderTimeout
        configuration.allowedOrigins = allowedOrigins.split(separator: ",").map(String.init)
        configuration.live.maxConnectionsPerUser = maxConnectionsPerUser
        configuration.live.maxWatchedUsers = maxWatchedUsers
        configuration.auth.scryptN = scryptN
        configuration.auth.scryptP = scryptP
        throttles.apply(to: &configuration)

        var services: [any Service] = []
        if redisURL != nil || redisSentinel != nil || redisCluster != nil {
            configuration.redisURL = redisURL
        } else {
            let embedded = EmbeddedRedis(directory: dataDir, logger: logger)
            try await embedded.start()
            configuration.redisURL = embedded.url
            services.append(embedded)
        }
        let node: SwitchboardNode
        do {
            node = try SwitchboardNode(configuration: configuration, logger: logger)
        } catch let error as RedisError {
            // A bad URL or unreadable TLS files: say so and exit, retrying cannot help.
            logger.critical("cannot configure Redis", metadata: ["error": "\(error.message)"])
            throw ExitCode(78)  // EX_CONFIG
        }
        let nodeID = configuration.nodeID
        services += node.services { port in
            logger.notice("serving", metadata: ["port": "\(port)", "node": "\(nodeID)"])
        }
        var groupConfiguration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // Draining is bounded: after this the remaining services are cancelled.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(20)
        let group = ServiceGroup(configuration: groupConfiguration)
        try await group.run()
    }
}

/// An environment variable, nil when unset or empty.
func env(_ name: String) -> String? {
    guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
    return value
}
