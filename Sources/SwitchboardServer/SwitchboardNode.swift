import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import RedisClient
import ServiceLifecycle
import SwitchboardCore
import Synchronization

/// One node: the HTTP app (and, later, the live WebSocket hub) over one
/// Redis client, with every long-running part a `Service`.
public struct SwitchboardNode: Sendable {
    public let configuration: SwitchboardConfiguration
    public let switchboard: Switchboard
    public let logger: Logger
    let live: LiveContext
    let background: BackgroundWork
    let liveService: LiveService
    let heartbeat: NodeHeartbeat
    let clientAddress: ClientAddressResolver
    /// Where the bytes of uploads live.
    let fileStore: any FileStore

    /// Builds a node against the Redis at `configuration.redisURL`.
    public init(configuration: SwitchboardConfiguration, logger: Logger = Logger(label: "switchboard")) throws {
        SwitchboardMetrics.bootstrap()
        try configuration.validate()
        self.clientAddress = try ClientAddressResolver(configuration: configuration)
        var logger = logger
        logger[metadataKey: "node"] = .string(configuration.nodeID)
        var redisConfiguration = try configuration.redisConfiguration()
        // Unreadable certificate or key files: refuse to start, retrying cannot help.
        _ = try redisConfiguration.tls?.makeContext()
        redisConfiguration.clientName = "switchboard-\(configuration.nodeID)"
        let redis = RedisClient(configuration: redisConfiguration, logger: logger)
        self.configuration = configuration
        self.logger = logger
        self.switchboard = Switchboard(configuration: configuration, redis: redis, logger: logger)
        let background = BackgroundWork(logger: logger)
        self.background = background
        let hub = try FanoutHub(
            switchboard: switchboard, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, background: background, logger: logger)
        self.live = LiveContext(switchboard: switchboard, hub: hub, background: background, logger: logger)
        self.liveService = LiveService(live: live)
        self.heartbeat = NodeHeartbeat(live: live, address: "\(configuration.host):\(configuration.port)")
        self.fileStore = LocalFileStore(directory: configuration.uploads.directory)
    }

    /// Removes the bytes of uploads stored before `cutoff` (seconds since
    /// 1970) whose metadata expired; answers how many (what `FileSweeper`
    /// does every `uploads.sweepInterval`, here on demand for tests and operators).
    public func sweepExpiredUploads(storedBefore cutoff: Int) async throws -> Int {
        try await FileSweeper(
            files: switchboard.files, store: fileStore, configuration: configuration.uploads, clock: switchboard.clock, logger: logger
        ).sweep(storedBefore: cutoff)
    }

    /// The router with every route of the contract.
    func buildRouter() -> Router<SwitchboardRequestContext> {
        let router = Router(context: SwitchboardRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        let live = self.live
        HealthController(switchboard: switchboard, draining: { live.draining.load(ordering: .relaxed) }).register(on: router)
        if configuration.web {
            WebController().register(on: router)
        }
        let origins = OriginPolicy(allowed: configuration.allowedOrigins)
        router.get("ws") { request, _ -> Response in
            // An upgrade from an origin that is not allowed arrives here (see `SwitchboardChannel`).
            if let origin = request.headers[.origin],
                !origins.allows(origin: origin, host: request.head.authority)
            {
                throw SwitchboardError(.forbidden, "WebSocket connections from origin \(origin.prefix(100)) are not allowed")
            }
            throw SwitchboardError(.invalidRequest, "GET /ws needs a WebSocket upgrade (Connection: Upgrade, Upgrade: websocket)")
        }
        let api = router.group("api/v1")
        let authenticator = Authenticator(switchboard: switchboard)
        AuthController(switchboard: switchboard, clientAddress: clientAddress).register(on: api)
        UserController(switchboard: switchboard, authenticator: authenticator).register(on: api)
        ConversationController(
            switchboard: switchboard, authenticator: authenticator, followUp: live.followUp, sendLimiter: live.hub.sendLimiter
        ).register(on: api)
        MessageExtrasController(switchboard: switchboard, authenticator: authenticator).register(on: api)
        NotificationController(switchboard: switchboard, authenticator: authenticator).register(on: api)
        ServerController(
            switchboard: switchboard, authenticator: ServerAPIAuthenticator(keys: configuration.auth.serverAPIKeys),
            followUp: live.followUp
        ).register(on: api)
        PostController(switchboard: switchboard, authenticator: authenticator, background: live.background).register(on: api)
        FollowController(switchboard: switchboard, authenticator: authenticator).register(on: api)
        UploadController(switchboard: switchboard, authenticator: authenticator, store: fileStore).register(on: api)
        OpenAPIController().register(on: api)
        return router
    }

    /// Every long-running part of the node, in start order. The last stops
    /// first: live sockets close with 1001, then the heartbeat removes the
    /// node's presence entries, then the HTTP server stops, then the
    /// background work queued by all of them runs to its end, and the Redis
    /// client goes last.
    public func services(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> [any Service] {
        var services: [any Service] = [
            switchboard.redis, background,
            SendBudgetSync(
                limiter: live.hub.sendLimiter, rateLimiter: switchboard.rateLimiter,
                interval: configuration.limits.sendSyncInterval),
            FileSweeper(
                files: switchboard.files, store: fileStore, configuration: configuration.uploads, clock: switchboard.clock, logger: logger),
        ]
        // Stops after the HTTP server and the sockets, before the Redis client.
        if let url = configuration.webhook.url, configuration.events.enabled {
            services.append(WebhookService(switchboard: switchboard, url: url, logger: logger))
        }
        return services + [buildApplication(onRunning: onRunning), heartbeat, liveService]
    }

    /// The Hummingbird application. `onRunning` receives the bound port.
    func buildApplication(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        SwitchboardMetrics.bootstrap()
        let switchboard = self.switchboard
        let logger = self.logger
        let live = self.live
        // (0 turns a timeout off.)
        let idleTimeout = configuration.httpIdleTimeout > 0 ? TimeAmount.milliseconds(Int64(configuration.httpIdleTimeout * 1000)) : nil
        let headerTimeout =
            configuration.httpHeaderTimeout > 0 ? TimeAmount.milliseconds(Int64(configuration.httpHeaderTimeout * 1000)) : nil
        let origins = OriginPolicy(allowed: configuration.allowedOrigins)
        var app = Application(
            router: buildRouter(),
            server: HTTPServerBuilder { responder in
                SwitchboardChannel(
                    responder: responder, live: live, idleTimeout: idleTimeout, headerTimeout: headerTimeout, origins: origins)
            },
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: "switchboard",
                // Hummingbird's default of 256 overflowed in a connect storm:
                // dropped SYNs, retried by the clients after 1 s (BENCHMARKS.md,
                // "Connect storm"). The kernel caps it at net.core.somaxconn.
                backlog: 4096),
            onServerRunning: { channel in
                await onRunning(channel.localAddress?.port ?? 0)
            },
            logger: logger
        )
        app.beforeServerStarts {
            // Redis may still be starting: keep trying, /ready says 503 meanwhile.
            var attempt = 0
            while true {
                do {
                    try await switchboard.prepare()
                    return
                } catch {
                    attempt += 1
                    if attempt == 1 || attempt % 10 == 0 {
                        logger.warning("waiting for Redis", metadata: ["error": "\(error)"])
                    }
                    if attempt >= 3 {
                        // Serve anyway; /ready reports 503 and loads the scripts once Redis answers.
                        return
                    }
                    try await Task.sleep(nanoseconds: 300_000_000)
                }
            }
        }
        return app
    }
}
