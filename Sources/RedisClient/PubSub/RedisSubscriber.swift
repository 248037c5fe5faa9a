import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A dedicated pub/sub connection that keeps its subscriptions across reconnects.
///
/// Subscriptions are batched (one command for many channels). When the
/// connection drops it reconnects with backoff, subscribes everything again and
/// reports `.connected(gap: true)` so the owner can replay what it missed.
/// Events go to the handler given at init (always called on the
/// subscriber's event loop, for owners that fan out without a task hop) or,
/// without one, to `events`.
///
/// With Sentinel it connects to the master of the moment and, when the
/// master changes, drops its connection: the usual reconnect follows, with
/// `.connected(gap: true)`.
public final class RedisSubscriber: Sendable {
    private struct Key: Hashable {
        var kind: RedisSubscriptionKind
        var name: String
    }

    private struct State {
        var desired: [RedisSubscriptionKind: Set<String>] = [:]
        var confirmed: Set<Key> = []
        var waiters: [Key: [EventLoopPromise<Void>]] = [:]
        var connection: RedisConnection?
        var stopped = false
        var lastPush = NIODeadline.now()
    }

    /// Events when no handler was given at init.
    public let events: AsyncStream<RedisPubSubEvent>
    private let continuation: AsyncStream<RedisPubSubEvent>.Continuation
    private let handler: (@Sendable (RedisPubSubEvent) -> Void)?
    private let state = Mutex(State())
    private let configuration: RedisConfiguration
    private let connector: RedisConnector
    private let eventLoop: any EventLoop
    private let logger: Logger
    /// Commands carry at most this many channels.
    private let batchSize = 500
    /// How often the idle connection is pinged to detect a dead peer.
    public let healthCheckInterval: TimeAmount

    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "redis.pubsub"),
        healthCheckInterval: TimeAmount = .seconds(5),
        masterLocator: RedisMasterLocator? = nil,
        handler: (@Sendable (RedisPubSubEvent) -> Void)? = nil
    ) {
        self.configuration = configuration
        // Share the pool's locator: one watcher of +switch-master per process.
        let locator =
            masterLocator
            ?? configuration.sentinel.map { _ in
                RedisMasterLocator(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
            }
        self.connector = RedisConnector(configuration: configuration, locator: locator)
        self.eventLoop = eventLoopGroup.next()
        self.logger = logger
        self.handler = handler
        self.healthCheckInterval = healthCheckInterval
        (events, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        locator?.onSwitch { [weak self] master in
            guard let self else { return }
            let stale = self.state.withLock { state -> RedisConnection? in
                guard let connection = state.connection, connection.address != master else { return nil }
                return connection
            }
            stale?.channel.close(promise: nil)
        }
    }

    /// The channels currently wanted, of one kind.
    public func subscriptions(_ kind: RedisSubscriptionKind = .channel) -> Set<String> {
        state.withLock { $0.desired[kind] ?? [] }
    }

    /// Subscribes; returns once Redis confirmed every channel, or at once when
    /// disconnected (they are subscribed on the next connect).
    public func subscribe(_ channels: [String], kind: RedisSubscriptionKind = .channel) async throws {
        try await subscribeFuture(channels, kind: kind).get()
    }

    /// Future-returning `subscribe` for event-loop code.
    public func subscribeFuture(_ channels: [String], kind: RedisSubscriptionKind = .channel) -> EventLoopFuture<Void> {
        let (connection, futures, toSend) = state.withLock { state -> (RedisConnection?, [EventLoopFuture<Void>], [String]) in
            var futures: [EventLoopFuture<Void>] = []
            var toSend: [String] = []
            for channel in channels {
                state.desired[kind, default: []].insert(channel)
                let key = Key(kind: kind, name: channel)
                guard state.connection != nil, !state.confirmed.contains(key) else { continue }
                let promise = eventLoop.makePromise(of: Void.self)
                if state.waiters[key] == nil { toSend.append(channel) }
                state.waiters[key, default: []].append(promise)
                futures.append(promise.futureResult)
            }
            return (state.connection, futures, toSend)
        }
        if let connection {
            for chunk in stride(from: 0, to: toSend.count, by: batchSize) {
                let names = Array(toSend[chunk..<min(chunk + batchSize, toSend.count)])
                connection.sendWithoutReply(RedisCommand(kind.subscribeCommand, names))
            }
        }
        return EventLoopFuture.andAllSucceed(futures, on: eventLoop)
    }

    /// Unsubscribes (batched); does not wait for Redis' confirmation.
    public func unsubscribe(_ channels: [String], kind: RedisSubscriptionKind = .channel) {
        let connection = state.withLock { state -> RedisConnection? in
            for channel in channels {
                state.desired[kind]?.remove(channel)
                state.confirmed.remove(Key(kind: kind, name: channel))
            }
            return state.connection
        }
        guard let connection, !channels.isEmpty else { return }
        for chunk in stride(from: 0, to: channels.count, by: batchSize) {
            let names = Array(channels[chunk..<min(chunk + batchSize, channels.count)])
            connection.sendWithoutReply(RedisCommand(kind.unsubscribeCommand, names))
        }
    }

    private func emit(_ event: RedisPubSubEvent) {
        if let handler { handler(event) } else { continuation.yield(event) }
    }

    private func handlePush(_ reply: RedisValue) {
        state.withLock { $0.lastPush = .now() }
        guard let parts = reply.array, let type = parts.first?.string else { return }
        switch type {
        case "message", "smessage":
            guard parts.count == 3, let channel = parts[1].string, let payload = parts[2].bytes else { return }
            emit(.message(channel: channel, payload: payload, sharded: type == "smessage"))
        case "pmessage":
            guard parts.count == 4, let pattern = parts[1].string, let channel = parts[2].string,
                let payload = parts[3].bytes
            else { return }
            emit(.patternMessage(pattern: pattern, channel: channel, payload: payload))
        default:
            guard let kind = RedisSubscriptionKind(confirmation: type), parts.count >= 2,
                let name = parts[1].string
            else { return }
            let key = Key(kind: kind, name: name)
            let waiters = state.withLock { state -> [EventLoopPromise<Void>] in
                if state.desired[kind]?.contains(name) == true { state.confirmed.insert(key) }
                return state.waiters.removeValue(forKey: key) ?? []
            }
            for waiter in waiters { waiter.succeed() }
        }
    }

    /// Connects, keeps the subscriptions, reconnects with backoff, until
    /// graceful shutdown or cancellation.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await self.connectionLoop()
        } onGracefulShutdown: {
            self.stop()
        }
        continuation.finish()
    }

    /// Stops the subscriber: closes its connection and ends `run()`.
    public func stop() {
        let connection = state.withLock { state -> RedisConnection? in
            state.stopped = true
            return state.connection
        }
        connection?.channel.close(promise: nil)
    }

    private func connectionLoop() async {
        var attempts = 0
        var hadConnection = false
        while !Task.isCancelled, !state.withLock({ $0.stopped }) {
            do {
                let connection = try await connector.connect(
                    on: eventLoop, pushHandler: { [weak self] reply in self?.handlePush(reply) }
                ).get()
                attempts = 0
                let (stopped, resubscribe) = state.withLock { state -> (Bool, EventLoopFuture<Void>?) in
                    if state.stopped { return (true, nil) }
                    state.connection = connection
                    state.confirmed = []
                    state.lastPush = .now()
                    return (false, nil)
                }
                if stopped {
                    connection.channel.close(promise: nil)
                    break
                }
                _ = resubscribe
                let all = state.withLock { $0.desired }
                var futures: [EventLoopFuture<Void>] = []
                for (kind, channels) in all where !channels.isEmpty {
                    futures.append(subscribeFuture(Array(channels), kind: kind))
                }
                let healthCheck = startHealthCheck(connection)
                try? await EventLoopFuture.andAllSucceed(futures, on: eventLoop).get()
                if connection.isActive {
                    if hadConnection {
                        logger.info("pub/sub reconnected", metadata: ["redis": "\(connection.address)"])
                    }
                    let gap = hadConnection
                    eventLoop.execute { self.emit(.connected(gap: gap)) }
                }
                hadConnection = true
                try? await connection.closeFuture.get()
                healthCheck.cancel()
                let waiters = state.withLock { state -> [EventLoopPromise<Void>] in
                    state.connection = nil
                    state.confirmed = []
                    let waiters = state.waiters.values.flatMap { $0 }
                    state.waiters = [:]
                    return waiters
                }
                for waiter in waiters { waiter.succeed() }
                if state.withLock({ $0.stopped }) { break }
                logger.warning("pub/sub connection lost", metadata: ["redis": "\(connection.address)"])
                eventLoop.execute { self.emit(.disconnected(reason: "connection closed")) }
            } catch {
                attempts += 1
                if attempts == 1 || attempts % 20 == 0 {
                    logger.warning("pub/sub cannot connect", metadata: ["error": "\(error)", "attempt": "\(attempts)"])
                }
            }
            let delay = configuration.backoff.delay(attempt: max(attempts, 1))
            try? await Task.sleep(nanoseconds: UInt64(delay.nanoseconds))
        }
    }

    /// Pings the connection; closes it when nothing came back for three intervals.
    private func startHealthCheck(_ connection: RedisConnection) -> RepeatedTask {
        let interval = healthCheckInterval
        return connection.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in
            guard let self else { return }
            let last = self.state.withLock { $0.lastPush }
            if NIODeadline.now() - last > interval * 3 {
                self.logger.warning("pub/sub connection silent, reconnecting")
                connection.channel.close(promise: nil)
            } else {
                connection.sendWithoutReply(RedisCommand("PING"))
            }
        }
    }
}

extension RedisSubscriber: Service {}
