import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A pool of pipelined Redis connections for commands.
///
/// Each connection carries many requests at once; a call made on one of the
/// group's event loops takes a connection of that loop (round robin among
/// them), so its reply completes on the thread that waits for it; other
/// calls are spread round robin. A dropped connection is replaced on the next request; after a
/// failed attempt the slot backs off (exponential, with jitter) and requests
/// meanwhile fail at once with `connectionFailed` instead of hanging.
///
/// With `configuration.sentinel` the pool connects to the master the
/// sentinels name (see `RedisMasterLocator`), and when the master changes
/// (`+switch-master`, a failed connection, a `READONLY` reply) it closes its
/// connections to the old one; the next requests go to the new one.
public final class RedisClient: Sendable {
    /// The configuration the pool was built with.
    public let configuration: RedisConfiguration
    let logger: Logger
    private let slots: [RedisConnectionSlot]
    private let ring: RedisSlotRing
    /// The event loops the connections run on.
    public let eventLoopGroup: any EventLoopGroup
    /// With Sentinel: where the master is (share it with a `RedisSubscriber`).
    public let masterLocator: RedisMasterLocator?
    /// With `configuration.cluster`: the slot map and the per-master pools
    /// that every command goes through (share it with a `RedisSubscriber`).
    public let clusterRouter: RedisClusterRouter?

    /// Builds the pool. Connections open lazily on first use.
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "redis")
    ) {
        self.configuration = configuration
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        let locator = configuration.sentinel.map { _ in
            RedisMasterLocator(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
        }
        self.masterLocator = locator
        self.clusterRouter = configuration.cluster.map {
            RedisClusterRouter(configuration: configuration, cluster: $0, eventLoopGroup: eventLoopGroup, logger: logger)
        }
        let connector = RedisConnector(configuration: configuration, locator: locator)
        let slots = (0..<(configuration.cluster == nil ? max(1, configuration.poolSize) : 0)).map { _ in
            RedisConnectionSlot(connector: connector, eventLoop: eventLoopGroup.next(), logger: logger)
        }
        self.slots = slots
        self.ring = RedisSlotRing(slots)
        locator?.onSwitch { master in
            for slot in slots { slot.close(unlessConnectedTo: master) }
        }
    }

    private func slot() -> RedisConnectionSlot { ring.pick() }

    /// An event loop of the client's group, for futures made outside a request.
    public var eventLoop: any EventLoop { eventLoopGroup.any() }

    /// A live connection from the pool (connecting it if needed).
    /// On a cluster: a connection to one of the masters.
    public func connection() -> EventLoopFuture<RedisConnection> {
        if let clusterRouter {
            return clusterRouter.masters().flatMap { masters in
                guard let master = masters.randomElement() else {
                    return self.eventLoop.makeFailedFuture(RedisError(code: .clusterDown, message: "the cluster has no master"))
                }
                return clusterRouter.pool(for: master).connection()
            }
        }
        return slot().connection()
    }

    /// Sends one command. Error replies complete the future as `.error`;
    /// it fails only for connection problems and timeouts.
    public func send(_ command: RedisCommand) -> EventLoopFuture<RedisValue> {
        if let clusterRouter { return clusterRouter.send(command) }
        let slot = slot()
        guard let locator = masterLocator else {
            if let connection = slot.ready { return connection.send(command) }
            return slot.connection().flatMap { $0.send(command) }
        }
        return slot.connection().flatMap { connection in
            connection.send(command).map { reply in
                Self.checkMaster(reply, connection: connection, locator: locator)
                return reply
            }
        }
    }

    /// Sends commands as one write on one connection; replies in order, error
    /// replies inline as `.error`.
    public func pipeline(_ commands: [RedisCommand]) -> EventLoopFuture<[RedisValue]> {
        if let clusterRouter { return clusterRouter.pipeline(commands) }
        let slot = slot()
        guard let locator = masterLocator else {
            if let connection = slot.ready { return connection.send(commands) }
            return slot.connection().flatMap { $0.send(commands) }
        }
        return slot.connection().flatMap { connection in
            connection.send(commands).map { replies in
                if let reply = replies.first(where: { $0.errorMessage != nil }) {
                    Self.checkMaster(reply, connection: connection, locator: locator)
                }
                return replies
            }
        }
    }

    /// A `READONLY` reply: the server was demoted to a replica. Forget it as
    /// the master and close the connection, so the next request asks the sentinels.
    private static func checkMaster(_ reply: RedisValue, connection: RedisConnection, locator: RedisMasterLocator) {
        guard let message = reply.errorMessage, message.hasPrefix("READONLY") else { return }
        locator.invalidate(connection.address, reason: message)
        connection.channel.close(promise: nil)
    }

    /// Closes every connection; later requests fail with `shutdown`.
    public func shutdown() async {
        for slot in slots { await slot.shutdown() }
        await clusterRouter?.shutdown()
    }
}

extension RedisClient {
    /// Sends a command and throws Redis' error reply as `RedisError.server`.
    @discardableResult
    public func send(_ name: String, _ arguments: any RedisArgumentConvertible...) async throws -> RedisValue {
        try await send(RedisCommand(name, arguments)).get().throwingError()
    }

    /// Sends a command and throws Redis' error reply as `RedisError.server`.
    @discardableResult
    public func execute(_ command: RedisCommand) async throws -> RedisValue {
        try await send(command).get().throwingError()
    }

    /// Sends commands in one write; error replies stay inline as `.error`.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        try await pipeline(commands).get()
    }
}

extension RedisClient: Service {
    /// Keeps the pool until graceful shutdown, then closes it. With Sentinel,
    /// follows `+switch-master` meanwhile.
    public func run() async throws {
        if let clusterRouter {
            // Re-read the slot map now and then, so moves that no request ran into are seen too.
            let interval = clusterRouter.cluster.refreshInterval
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                try? await Task.sleep(for: .nanoseconds(interval.nanoseconds))
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
                _ = try? await clusterRouter.refresh().get()
            }
        } else if let locator = masterLocator {
            await withGracefulShutdownHandler {
                await locator.watch()
            } onGracefulShutdown: {
                locator.stop()
            }
        } else {
            try? await gracefulShutdown()
        }
        await shutdown()
    }
}

/// One slot of the pool: a connection, a connection attempt, or a backoff window.
final class RedisConnectionSlot: Sendable {
    private enum State {
        case idle(attempts: Int)
        case connecting(EventLoopFuture<RedisConnection>, attempts: Int)
        case connected(RedisConnection)
        case backingOff(until: NIODeadline, attempts: Int, error: RedisError)
        case shutdown
    }

    private let state = Mutex<State>(.idle(attempts: 0))
    private let connector: RedisConnector
    private var configuration: RedisConfiguration { connector.configuration }
    /// The loop its connection runs on.
    let eventLoop: any EventLoop
    private let logger: Logger

    init(connector: RedisConnector, eventLoop: any EventLoop, logger: Logger) {
        self.connector = connector
        self.eventLoop = eventLoop
        self.logger = logger
    }

    /// Closes the connection when it goes anywhere but `address` (the master moved).
    func close(unlessConnectedTo address: RedisConfiguration.Address) {
        let stale = state.withLock { state -> RedisConnection? in
            if case .connected(let connection) = state, connection.address != address { return connection }
            return nil
        }
        stale?.channel.close(promise: nil)
    }

    /// The connection when it is open, without any waiting.
    var ready: RedisConnection? {
        state.withLock { state in
            if case .connected(let connection) = state, connection.isActive { return connection }
            return nil
        }
    }

    func connection() -> EventLoopFuture<RedisConnection> {
        enum Action {
            case use(EventLoopFuture<RedisConnection>)
            case connect(EventLoopPromise<RedisConnection>, attempts: Int)
        }
        let action: Action = state.withLock { state in
            var attempts = 0
            switch state {
            case .connected(let connection):
                if connection.isActive { return .use(eventLoop.makeSucceededFuture(connection)) }
            case .connecting(let future, _):
                return .use(future)
            case .backingOff(let until, let failed, let error):
                if NIODeadline.now() < until { return .use(eventLoop.makeFailedFuture(error)) }
                attempts = failed
            case .idle(let failed):
                attempts = failed
            case .shutdown:
                return .use(
                    eventLoop.makeFailedFuture(RedisError(code: .shutdown, message: "the Redis client was shut down")))
            }
            let promise = eventLoop.makePromise(of: RedisConnection.self)
            state = .connecting(promise.futureResult, attempts: attempts)
            return .connect(promise, attempts: attempts)
        }
        switch action {
        case .use(let future):
            return future
        case .connect(let promise, let attempts):
            connector.connect(on: eventLoop).whenComplete { result in
                self.finishConnecting(result, attempts: attempts, promise: promise)
            }
            return promise.futureResult
        }
    }

    private func finishConnecting(
        _ result: Result<RedisConnection, any Error>, attempts: Int, promise: EventLoopPromise<RedisConnection>
    ) {
        switch result {
        case .success(let connection):
            let keep = state.withLock { state -> Bool in
                if case .shutdown = state { return false }
                state = .connected(connection)
                return true
            }
            guard keep else {
                connection.channel.close(promise: nil)
                promise.fail(RedisError(code: .shutdown, message: "the Redis client was shut down"))
                return
            }
            if attempts > 0 {
                logger.info("reconnected to Redis", metadata: ["redis": "\(connection.address)"])
            }
            connection.closeFuture.whenComplete { _ in
                self.state.withLock { state in
                    if case .connected(let current) = state, current === connection { state = .idle(attempts: 0) }
                }
            }
            promise.succeed(connection)
        case .failure(let error):
            let redisError =
                (error as? RedisError) ?? RedisError(code: .connectionFailed, message: "cannot connect to Redis: \(error)")
            let failedAttempts = attempts + 1
            let target = configuration.sentinel.map { "sentinel master \($0.masterName)" } ?? "\(configuration.address)"
            let delay = configuration.backoff.delay(attempt: failedAttempts)
            state.withLock { state in
                if case .shutdown = state { return }
                state = .backingOff(until: .now() + delay, attempts: failedAttempts, error: redisError)
            }
            if redisError.code == .tlsConfiguration || RedisTLSConfiguration.isHandshakeFailure(redisError.message) {
                // Not a network blip: retrying will not help until someone fixes the certificates.
                if failedAttempts == 1 || failedAttempts % 20 == 0 {
                    logger.error("Redis TLS failed", metadata: ["error": "\(redisError.message)", "attempt": "\(failedAttempts)"])
                }
            } else if failedAttempts == 1 || failedAttempts % 20 == 0 {
                logger.warning(
                    "Redis unreachable",
                    metadata: [
                        "redis": "\(target)", "error": "\(redisError.message)",
                        "attempt": "\(failedAttempts)",
                    ])
            }
            promise.fail(redisError)
        }
    }

    func shutdown() async {
        let previous = state.withLock { state -> State in
            let previous = state
            state = .shutdown
            return previous
        }
        switch previous {
        case .connected(let connection):
            try? await connection.close().get()
        case .connecting(let future, _):
            if let connection = try? await future.get() { try? await connection.close().get() }
        default:
            break
        }
    }
}
