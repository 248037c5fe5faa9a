import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SwitchboardCore
import SwitchboardServer

/// `switchboard serve`: runs one node until SIGTERM/SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run a Switchboard node.")

    @Option(help: "Address to bind (env SWITCHBOARD_HOST).")
    var host: String = env("SWITCHBOARD_HOST") ?? "127.0.0.1"

    @Option(help: "Port to bind, 0 for any free port (env SWITCHBOARD_PORT).")
    var port: Int = env("SWITCHBOARD_PORT").flatMap { Int($0) } ?? 8080

    @Option(help: "Redis URL, redis://[user:password@]host:port[/db] or unix:///path (env SWITCHBOARD_REDIS_URL). Without one, an embedded redis-server is started.")
    var redisURL: String? = env("SWITCHBOARD_REDIS_URL")

    @Option(help: "Folder of the embedded redis-server's data (env SWITCHBOARD_DATA_DIR).")
    var dataDir: String = env("SWITCHBOARD_DATA_DIR") ?? ".switchboard"

    @Option(help: "This node's id, unique among live nodes (env SWITCHBOARD_NODE_ID; default random).")
    var nodeID: String? = env("SWITCHBOARD_NODE_ID")

    @Option(help: "Prefix of every Redis key and channel (env SWITCHBOARD_PREFIX).")
    var prefix: String = env("SWITCHBOARD_PREFIX") ?? "sb:"

    @Option(help: "Command connections to Redis (env SWITCHBOARD_REDIS_POOL).")
    var redisPool: Int = env("SWITCHBOARD_REDIS_POOL").flatMap { Int($0) } ?? 4

    @Option(help: "HS256 signing secret, at least 32 bytes (env SWITCHBOARD_JWT_SECRET; default: generated once and shared through Redis).")
    var jwtSecret: String? = env("SWITCHBOARD_JWT_SECRET")

    @Option(help: "Access token lifetime in seconds (env SWITCHBOARD_ACCESS_TTL).")
    var accessTTL: Int = env("SWITCHBOARD_ACCESS_TTL").flatMap { Int($0) } ?? 900

    @Option(help: "Refresh token lifetime in seconds (env SWITCHBOARD_REFRESH_TTL).")
    var refreshTTL: Int = env("SWITCHBOARD_REFRESH_TTL").flatMap { Int($0) } ?? 604_800

    @Option(help: "HS256 secret of tokens minted by your own backend (env SWITCHBOARD_EXTERNAL_JWT_SECRET).")
    var externalJWTSecret: String? = env("SWITCHBOARD_EXTERNAL_JWT_SECRET")

    @Option(help: "Required `iss` of external tokens (env SWITCHBOARD_EXTERNAL_JWT_ISSUER).")
    var externalJWTIssuer: String? = env("SWITCHBOARD_EXTERNAL_JWT_ISSUER")

    @Option(help: "Required `aud` of external tokens, if any (env SWITCHBOARD_EXTERNAL_JWT_AUDIENCE).")
    var externalJWTAudience: String? = env("SWITCHBOARD_EXTERNAL_JWT_AUDIENCE")

    @Option(help: "Login attempts per username and address per minute (env SWITCHBOARD_LOGIN_LIMIT).")
    var loginLimit: Int = env("SWITCHBOARD_LOGIN_LIMIT").flatMap { Int($0) } ?? 10

    @Option(help: "Registrations per address per minute (env SWITCHBOARD_REGISTER_LIMIT).")
    var registerLimit: Int = env("SWITCHBOARD_REGISTER_LIMIT").flatMap { Int($0) } ?? 30

    @Option(help: "Messages kept per conversation, 0 = all (env SWITCHBOARD_RETENTION).")
    var retention: Int = env("SWITCHBOARD_RETENTION").flatMap { Int($0) } ?? 100_000

    @Option(help: "Seconds presence, socket and node entries live without a heartbeat (env SWITCHBOARD_PRESENCE_TTL).")
    var presenceTTL: Double = env("SWITCHBOARD_PRESENCE_TTL").flatMap { Double($0) } ?? 30

    @Option(help: "Send burst per user (env SWITCHBOARD_SEND_BURST).")
    var sendBurst: Int = env("SWITCHBOARD_SEND_BURST").flatMap { Int($0) } ?? 200

    @Option(help: "Sends per second per user, refill of the burst (env SWITCHBOARD_SEND_RATE).")
    var sendRate: Double = env("SWITCHBOARD_SEND_RATE").flatMap { Double($0) } ?? 50

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
    var mallocTrim: Bool = env("SWITCHBOARD_MALLOC_TRIM") != "0"

    @Flag(inversion: .prefixedNo, help: "Serve the browser app at / and the JavaScript SDK at /sdk/switchboard.js (env SWITCHBOARD_WEB=0 turns it off).")
    var web: Bool = env("SWITCHBOARD_WEB").map { !["0", "false", "no", "off"].contains($0.lowercased()) } ?? true

    @Option(help: "scrypt cost N for new password hashes, a power of two (env SWITCHBOARD_SCRYPT_N); lower only for tests.")
    var scryptN: UInt64 = env("SWITCHBOARD_SCRYPT_N").flatMap { UInt64($0) } ?? 32768

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
        if (externalJWTSecret == nil) != (externalJWTIssuer == nil) {
            throw ValidationError("--external-jwt-secret and --external-jwt-issuer go together")
        }
        if let externalJWTIssuer, externalJWTIssuer == "switchboard" {
            throw ValidationError("--external-jwt-issuer must differ from the hub's own issuer (switchboard)")
        }
        if let nodeID, nodeID.isEmpty || nodeID.count > 64 || !nodeID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }) {
            throw ValidationError("--node-id: 1 to 64 characters of A-Z a-z 0-9 _ . -")
        }
        guard scryptN >= 2, scryptN & (scryptN - 1) == 0, scryptN <= 1 << 20 else {
            throw ValidationError("--scrypt-n must be a power of two between 2 and 2^20")
        }
        guard presenceTTL > 0 else { throw ValidationError("--presence-ttl must be positive") }
        guard httpIdleTimeout >= 0, httpHeaderTimeout >= 0 else { throw ValidationError("HTTP timeouts must be 0 or more") }
        guard maxConnectionsPerUser > 0, maxWatchedUsers >= 0 else {
            throw ValidationError("--max-connections-per-user must be positive, --max-watched-users 0 or more")
        }
        guard mallocArenas >= 0 else { throw ValidationError("--malloc-arenas must be 0 or more") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
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
        configuration.retention = retention
        configuration.web = web
        if let nodeID { configuration.nodeID = nodeID }
        configuration.auth.jwtSecret = jwtSecret
        configuration.auth.accessTokenTTL = accessTTL
        configuration.auth.refreshTokenTTL = refreshTTL
        configuration.auth.externalSecret = externalJWTSecret
        configuration.auth.externalIssuer = externalJWTIssuer
        configuration.auth.externalAudience = externalJWTAudience
        configuration.limits.loginPerMinute = loginLimit
        configuration.limits.registrationsPerMinute = registerLimit
        configuration.limits.sendBurst = sendBurst
        configuration.limits.sendRefillPerSecond = sendRate
        configuration.live.presenceTTL = presenceTTL
        configuration.live.mallocTrim = mallocTrim
        configuration.httpIdleTimeout = httpIdleTimeout
        configuration.httpHeaderTimeout = httpHeaderTimeout
        configuration.allowedOrigins = allowedOrigins.split(separator: ",").map(String.init)
        configuration.live.maxConnectionsPerUser = maxConnectionsPerUser
        configuration.live.maxWatchedUsers = maxWatchedUsers
        configuration.auth.scryptN = scryptN

        var services: [any Service] = []
        if let redisURL {
            configuration.redisURL = redisURL
        } else {
            let embedded = EmbeddedRedis(directory: dataDir, logger: logger)
            try await embedded.start()
            configuration.redisURL = embedded.url
            services.append(embedded)
        }
        let node = try SwitchboardNode(configuration: configuration, logger: logger)
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
