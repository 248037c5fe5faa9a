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
        /// Subscribe commands sent on the current connection, not yet confirmed.
        var sent: Set<Key> = []
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
    /// On a cluster: the per-shard subscribers this one delegates to.
    private let cluster: RedisClusterSubscriber?
    /// On a cluster's per-shard subscriber: told about shard channels the server
    /// dropped (`sunsubscribe` push after the slot moved) or refused (`MOVED`).
    let lostHandler = Mutex<(@Sendable ([String], String) -> Void)?>(nil)

    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "redis.pubsub"),
        healthCheckInterval: TimeAmount = .seconds(5),
        masterLocator: RedisMasterLocator? = nil,
        clusterRouter: RedisClusterRouter? = nil,
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
        let (events, continuation) = AsyncStream.makeStream(of: RedisPubSubEvent.self, bufferingPolicy: .unbounded)
        (self.events, self.continuation) = (events, continuation)
        if let clusterConfiguration = configuration.cluster {
            // Share the pool's router: one slot map per process.
            let router =
                clusterRouter
                ?? RedisClusterRouter(
                    configuration: configuration, cluster: clusterConfiguration, eventLoopGroup: eventLoopGroup, logger: logger)
            self.cluster = RedisClusterSubscriber(
                configuration: configuration, router: router, eventLoop: self.eventLoop, logger: logger,
                healthCheckInterval: healthCheckInterval,
                emit: { event in if let handler { handler(event) } else { continuation.yield(event) } })
        } else {
            self.cluster = nil
        }
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
        if let cluster { return cluster.subscriptions(kind) }
        return state.withLock { $0.desired[kind] ?? [] }
    }

    /// Subscribes; returns once Redis confirmed every channel. While the
    /// connection is (re)connecting the channels are sent as soon as it is
    /// up; the call fails with `connectionFailed` when no connection confirmed
    /// them within `connectTimeout` + `requestTimeout` (they stay wanted and
    /// are subscribed on the next connect). A connection lost after the
    /// command went out completes the call: the reconnect reports
    /// `.connected(gap: true)` for the gap replay.
    ///
    /// On a cluster each channel is subscribed on the master of its slot
    /// (`.shard` kind: `SSUBSCRIBE`), and moved when the slot moves.
    public func subscribe(_ channels: [String], kind: RedisSubscriptionKind = .channel) async throws {
        try await subscribeFuture(channels, kind: kind).get()
    }

    /// Future-returning `subscribe` for event-loop code.
    public func subscribeFuture(_ channels: [String], kind: RedisSubscriptionKind = .channel) -> EventLoopFuture<Void> {
        if let cluster { return cluster.subscribe(channels, kind: kind) }
        let (connection, futures, toSend) = state.withLock { state -> (RedisConnection?, [EventLoopFuture<Void>], [String]) in
            var futures: [EventLoopFuture<Void>] = []
            var toSend: [String] = []
            guard !state.stopped else { return (nil, [], []) }
            for channel in channels {
                state.desired[kind, default: []].insert(channel)
                let key = Key(kind: kind, name: channel)
                guard !state.confirmed.contains(key) else { continue }
                let promise = eventLoop.makePromise(of: Void.self)
                state.waiters[key, default: []].append(promise)
                futures.append(promise.futureResult)
                // Without a connection the connect loop sends every wanted channel once it is up.
                if state.connection != nil, !state.sent.contains(key) {
                    state.sent.insert(key)
                    toSend.append(channel)
                }
            }
            return (state.connection, futures, toSend)
        }
        if let connection {
            for names in batches(toSend, kind: kind) {
                connection.sendWithoutReply(RedisCommand(kind.subscribeCommand, names))
            }
        }
        let confirmed = EventLoopFuture.andAllSucceed(futures, on: eventLoop)
        guard connection == nil, !futures.isEmpty else { return confirmed }
        // Not connected: wait for the connect loop, but not forever.
        let limit = configuration.connectTimeout + (configuration.requestTimeout ?? .seconds(5))
        let result = eventLoop.makePromise(of: Void.self)
        let once = CompletionGuard()
        let timeout = eventLoop.scheduleTask(in: limit) {
            if once.claim() {
                result.fail(RedisError(code: .connectionFailed, message: "pub/sub not connected: subscription not confirmed in time"))
            }
        }
        confirmed.whenComplete { outcome in
            timeout.cancel()
            if once.claim() { result.completeWith(outcome) }
        }
        return result.futureResult
    }

    /// Unsubscribes (batched); does not wait for Redis' confirmation.
    public func unsubscribe(_ channels: [String], kind: RedisSubscriptionKind = .channel) {
        if let cluster { return cluster.unsubscribe(channels, kind: kind) }
        let connection = state.withLock { state -> RedisConnection? in
            for channel in channels {
                state.desired[kind]?.remove(channel)
                state.confirmed.remove(Key(kind: kind, name: channel))
                state.sent.remove(Key(kind: kind, name: channel))
            }
            return state.connection
        }
        guard let connection, !channels.isEmpty else { return }
        for names in batches(channels, kind: kind) {
            connection.sendWithoutReply(RedisCommand(kind.unsubscribeCommand, names))
        }
    }

    /// Channels in commands of at most `batchSize`; shard channels grouped by
    /// hash slot, since one `SSUBSCRIBE` may only name channels of one slot on a cluster.
    private func batches(_ channels: [String], kind: RedisSubscriptionKind) -> [[String]] {
        var groups: [[String]] = [channels]
        if kind == .shard {
            var bySlot: [Int: [String]] = [:]
            var order: [Int] = []
            for channel in channels {
                let slot = RedisHashSlot(key: channel).rawValue
                if bySlot[slot] == nil { order.append(slot) }
                bySlot[slot, default: []].append(channel)
            }
            groups = order.map { bySlot[$0]! }
        }
        return groups.flatMap { group in
            stride(from: 0, to: group.count, by: batchSize).map { Array(group[$0..<min($0 + batchSize, group.count)]) }
        }
    }

    private func emit(_ event: RedisPubSubEvent) {
        if let handler { handler(event) } else { continuation.yield(event) }
    }

    private func handlePush(_ reply: RedisValue) {
        state.withLock { $0.lastPush = .now() }
        if let message = reply.errorMessage {
            refused(message)
            return
        }
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
        case "sunsubscribe":
            // Unasked for while still wanted: the channel's slot left this
            // node (resharding or failover). The cluster subscriber moves it.
            guard parts.count >= 2, let name = parts[1].string else { return }
            let key = Key(kind: .shard, name: name)
            let dropped = state.withLock { state -> Bool in
                guard state.desired[.shard]?.contains(name) == true else { return false }
                state.desired[.shard]?.remove(name)
                state.confirmed.remove(key)
                state.sent.remove(key)
                return true
            }
            if dropped, let lost = lostHandler.withLock({ $0 }) { lost([name], "sunsubscribe pushed by \(configuration.address)") }
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

    /// An error reply on the pub/sub connection: a `MOVED` (the shard
    /// channels of that slot live elsewhere) fails their pending subscribes
    /// and hands them to the cluster subscriber; anything else is logged.
    private func refused(_ message: String) {
        let parts = message.split(separator: " ")
        guard parts.count == 3, parts[0] == "MOVED" || parts[0] == "ASK", let slot = Int(parts[1]) else {
            logger.warning("pub/sub error reply", metadata: ["error": "\(message)"])
            return
        }
        let (names, waiters) = state.withLock { state -> ([String], [EventLoopPromise<Void>]) in
            let names = (state.desired[.shard] ?? []).filter { RedisHashSlot(key: $0).rawValue == slot }.sorted()
            var waiters: [EventLoopPromise<Void>] = []
            for name in names {
                let key = Key(kind: .shard, name: name)
                state.desired[.shard]?.remove(name)
                state.confirmed.remove(key)
                state.sent.remove(key)
                waiters += state.waiters.removeValue(forKey: key) ?? []
            }
            return (names, waiters)
        }
        for waiter in waiters { waiter.fail(RedisError.server(message)) }
        if !names.isEmpty, let lost = lostHandler.withLock({ $0 }) { lost(names, message) }
    }

    /// Connects, keeps the subscriptions, reconnects with backoff, until
    /// graceful shutdown or cancellation.
    public func run() async throws {
        if let cluster {
            await withGracefulShutdownHandler {
                await cluster.run()
            } onGracefulShutdown: {
                cluster.stop()
            }
            continuation.finish()
            return
        }
        await withGracefulShutdownHandler {
            await self.connectionLoop()
        } onGracefulShutdown: {
            self.stop()
        }
        continuation.finish()
    }

    /// Stops the subscriber: closes its connection and ends `run()`.
    public func stop() {
        cluster?.stop()
        let (connection, waiters) = state.withLock { state -> (RedisConnection?, [EventLoopPromise<Void>]) in
            state.stopped = true
            let waiters = state.waiters.values.flatMap { $0 }
            state.waiters = [:]
            return (state.connection, waiters)
        }
        for waiter in waiters { waiter.fail(RedisError(code: .shutdown, message: "the subscriber was stopped")) }
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
                    state.sent = []
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
                    // Subscribes that went out on this connection complete (the
                    // reconnect reports a gap); the others wait for the next one.
                    var waiters: [EventLoopPromise<Void>] = []
                    for key in state.sent { waiters += state.waiters.removeValue(forKey: key) ?? [] }
                    state.sent = []
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

/// Lets exactly one of two racing completions through.
final class CompletionGuard: Sendable {
    private let done = Mutex(false)

    /// True the first time only.
    func claim() -> Bool {
        done.withLock { done in
            defer { done = true }
            return !done
        }
    }
}
