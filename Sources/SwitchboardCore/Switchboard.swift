import Logging
import NIOCore
import NIOPosix
import RedisClient

/// The domain services of one node, over one Redis client.
public final class Switchboard: Sendable {
    public let configuration: SwitchboardConfiguration
    public let redis: RedisClient
    public let scripts: RedisScriptRegistry
    public let keys: KeyLayout
    /// Where state changes append their events (or `.off`).
    public let events: EventStream
    public let clock: WallClock
    public let logger: Logger
    public let accounts: AccountService
    public let tokens: TokenService
    public let rateLimiter: RateLimiter
    public let conversations: ConversationService
    public let presence: PresenceService
    public let notifications: NotificationService
    /// Posts, follows, feeds, likes and comments.
    public let posts: PostService
    /// The metadata of uploads (the bytes are the server's `FileStore`'s).
    public let files: FileService

    public init(
        configuration: SwitchboardConfiguration,
        redis: RedisClient,
        clock: WallClock = .system,
        logger: Logger = Logger(label: "switchboard")
    ) {
        self.configuration = configuration
        self.redis = redis
        self.scripts = RedisScriptRegistry(client: redis, scripts: LuaScripts.scripts(for: configuration))
        self.keys = KeyLayout(prefix: configuration.prefix)
        self.events = EventStream(configuration.events, keys: keys, perSlot: configuration.isClusterMode)
        self.clock = clock
        self.logger = logger
        let hasher = PasswordHasher(
            n: configuration.auth.scryptN, r: configuration.auth.scryptR, p: configuration.auth.scryptP)
        self.accounts = AccountService(
            redis: redis, scripts: scripts, keys: keys, clock: clock, hasher: hasher,
            limits: configuration.limits, events: events, publishCommand: configuration.publishCommand)
        self.tokens = TokenService(redis: redis, scripts: scripts, keys: keys, clock: clock, configuration: configuration.auth)
        self.rateLimiter = RateLimiter(scripts: scripts, keys: keys, clock: clock)
        self.presence = PresenceService(
            redis: redis, scripts: scripts, keys: keys, clock: clock, configuration: configuration.live, events: events)
        self.notifications = NotificationService(
            redis: redis, scripts: scripts, keys: keys, clock: clock, configuration: configuration.live)
        self.posts = PostService(
            redis: redis, scripts: scripts, keys: keys, clock: clock, configuration: configuration.posts,
            live: configuration.live, accounts: accounts, redisClusterMode: configuration.isClusterMode)
        self.files = FileService(
            redis: redis, scripts: scripts, keys: keys, clock: clock, unattachedTTL: configuration.uploads.unattachedTTL)
        self.conversations = ConversationService(
            redis: redis, scripts: scripts, keys: keys, clock: clock, configuration: configuration, accounts: accounts, events: events)
    }

    /// Loads the Lua scripts and the signing key; retried by `/ready` until Redis answers.
    public func prepare() async throws {
        try await scripts.loadAll()
        try await tokens.loadKey()
    }

    /// Whether Redis answers and the scripts and the signing key are loaded (loaded here if not yet).
    public func isReady() async -> Bool {
        do {
            // On a cluster a keyless PING goes to the next master in turn: one
            // that is down (its shard failing over) does not make the node unready.
            var answered = false
            for _ in 0..<(configuration.isClusterMode ? 3 : 1) where !answered {
                answered = (try? await redis.send("PING").string) == "PONG"
            }
            guard answered else { return false }
            // Not `SCRIPT EXISTS` on every probe: on a cluster that asks every
            // master, and while one shard fails over every node would answer
            // 503 and a load balancer would take them all out. A Redis that
            // forgot the scripts gets them again on the first call (`NOSCRIPT`).
            if !scripts.hashesKnown { try await scripts.loadAll() }
            if !tokens.hasKey { try await tokens.loadKey() }
            return true
        } catch {
            return false
        }
    }
}
