import Logging
import NIOCore
import Synchronization

/// The cluster side of `RedisSubscriber`: one plain subscriber per master,
/// each channel on the master of its slot (`SSUBSCRIBE` for `.shard`; the
/// other kinds are routed the same way, which is harmless since `PUBLISH`
/// reaches every node).
///
/// A channel moves when the slot map says its slot has another master: after
/// a `sunsubscribe` the server pushed (the slot left the node), a `MOVED`
/// answering `SSUBSCRIBE`, a shard subscriber that lost its connection
/// (failover), or the router's periodic refresh. Once the moved channels are
/// confirmed on their new master it reports `.connected(gap: true)`, exactly
/// like a reconnect, so the owner replays what was published in between.
final class RedisClusterSubscriber: Sendable {
    private struct Key: Hashable {
        var kind: RedisSubscriptionKind
        var name: String
    }

    private struct State {
        /// Every wanted channel and the master it is subscribed on (nil: not placed yet).
        var placed: [Key: RedisConfiguration.Address?] = [:]
        var shards: [RedisConfiguration.Address: RedisSubscriber] = [:]
        var stopped = false
    }

    private let configuration: RedisConfiguration
    private let router: RedisClusterRouter
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let healthCheckInterval: TimeAmount
    private let emit: @Sendable (RedisPubSubEvent) -> Void
    private let state = Mutex(State())
    private let started: AsyncStream<RedisSubscriber>
    private let starter: AsyncStream<RedisSubscriber>.Continuation

    init(
        configuration: RedisConfiguration, router: RedisClusterRouter, eventLoop: any EventLoop, logger: Logger,
        healthCheckInterval: TimeAmount, emit: @escaping @Sendable (RedisPubSubEvent) -> Void
    ) {
        var shardConfiguration = configuration
        shardConfiguration.cluster = nil
        shardConfiguration.sentinel = nil
        shardConfiguration.database = 0
        self.configuration = shardConfiguration
        self.router = router
        self.eventLoop = eventLoop
        self.logger = logger
        self.healthCheckInterval = healthCheckInterval
        self.emit = emit
        (started, starter) = AsyncStream.makeStream(of: RedisSubscriber.self, bufferingPolicy: .unbounded)
        router.onRefresh { [weak self] topology in self?.rebalance(topology) }
    }

    func subscriptions(_ kind: RedisSubscriptionKind) -> Set<String> {
        state.withLock { Set($0.placed.keys.filter { $0.kind == kind }.map(\.name)) }
    }

    /// Subscribes each channel on the master of its slot; a `MOVED` reads the
    /// slot map again and tries the new master (up to `maxRedirects` times).
    func subscribe(_ channels: [String], kind: RedisSubscriptionKind, attempt: Int = 0) -> EventLoopFuture<Void> {
        let stopped = state.withLock { state -> Bool in
            for channel in channels where state.placed[Key(kind: kind, name: channel)] == nil {
                state.placed[Key(kind: kind, name: channel)] = .some(nil)
            }
            return state.stopped
        }
        if stopped || channels.isEmpty { return eventLoop.makeSucceededVoidFuture() }
        return router.topology().hop(to: eventLoop).flatMap { topology in
            var groups: [RedisConfiguration.Address: [String]] = [:]
            for channel in channels {
                guard let master = topology.master(for: RedisHashSlot(key: channel)) else { continue }
                groups[master, default: []].append(channel)
            }
            var futures: [EventLoopFuture<Void>] = []
            for (master, names) in groups {
                let shard = self.state.withLock { state -> RedisSubscriber? in
                    var wanted: [String] = []
                    for name in names where state.placed[Key(kind: kind, name: name)] != nil {
                        state.placed[Key(kind: kind, name: name)] = master
                        wanted.append(name)
                    }
                    return wanted.isEmpty ? nil : self.shard(master, in: &state)
                }
                if let shard { futures.append(shard.subscribeFuture(names, kind: kind)) }
            }
            if groups.values.reduce(0, { $0 + $1.count }) < channels.count {
                self.router.invalidate(reason: "a subscribed channel's slot has no master")
            }
            return EventLoopFuture.andAllSucceed(futures, on: self.eventLoop)
        }.flatMapError { error in
            guard let redisError = error as? RedisError, redisError.code == .server,
                redisError.message.hasPrefix("MOVED") || redisError.message.hasPrefix("ASK"),
                attempt < self.router.cluster.maxRedirects
            else { return self.eventLoop.makeFailedFuture(error) }
            // The slot map was stale: read it, then place the channels again.
            let still = self.state.withLock { state in channels.filter { state.placed[Key(kind: kind, name: $0)] != nil } }
            return self.router.refresh().hop(to: self.eventLoop).flatMap { _ in
                self.subscribe(still, kind: kind, attempt: attempt + 1)
            }
        }
    }

    func unsubscribe(_ channels: [String], kind: RedisSubscriptionKind) {
        let groups = state.withLock { state -> [(RedisSubscriber, [String])] in
            var groups: [RedisConfiguration.Address: [String]] = [:]
            for channel in channels {
                if case .some(.some(let master)) = state.placed.removeValue(forKey: Key(kind: kind, name: channel)) {
                    groups[master, default: []].append(channel)
                }
            }
            return groups.compactMap { master, names in state.shards[master].map { ($0, names) } }
        }
        for (shard, names) in groups { shard.unsubscribe(names, kind: kind) }
    }

    /// The subscriber of one master, made (and started by `run`) on first use.
    private func shard(_ master: RedisConfiguration.Address, in state: inout State) -> RedisSubscriber {
        if let shard = state.shards[master] { return shard }
        var shardConfiguration = configuration
        shardConfiguration.address = master
        let shard = RedisSubscriber(
            configuration: shardConfiguration, eventLoopGroup: eventLoop, logger: logger,
            healthCheckInterval: healthCheckInterval,
            handler: { [weak self] event in self?.shardEvent(event, from: master) })
        shard.lostHandler.withLock { handler in
            handler = { [weak self] names, reason in self?.lost(names, on: master, reason: reason) }
        }
        state.shards[master] = shard
        starter.yield(shard)
        return shard
    }

    private func shardEvent(_ event: RedisPubSubEvent, from master: RedisConfiguration.Address) {
        switch event {
        case .message, .patternMessage, .connected:
            emit(event)
        case .disconnected(let reason):
            emit(event)
            // A failover, maybe: the next slot map tells where the channels go.
            router.invalidate(reason: "pub/sub connection to \(master) lost")
        }
    }

    /// Channels a shard's server dropped or refused: unplaced, then placed
    /// again by the rebalance that follows the refresh.
    private func lost(_ names: [String], on master: RedisConfiguration.Address, reason: String) {
        state.withLock { state in
            for name in names where state.placed[Key(kind: .shard, name: name)] != nil {
                state.placed[Key(kind: .shard, name: name)] = .some(nil)
            }
        }
        logger.info("sharded channels left \(master)", metadata: ["channels": "\(names.count)", "reason": "\(reason)"])
        router.invalidate(reason: reason)
    }

    /// Moves every channel whose slot has another master now (or that lost
    /// its place), and reports `.connected(gap: true)` once they are confirmed.
    private func rebalance(_ topology: RedisClusterTopology) {
        let (moves, idle) = state.withLock { state -> ([(RedisSubscriber?, RedisSubscriber, Key)], [RedisSubscriber]) in
            guard !state.stopped else { return ([], []) }
            var moves: [(RedisSubscriber?, RedisSubscriber, Key)] = []
            for (key, placed) in state.placed {
                guard let master = topology.master(for: RedisHashSlot(key: key.name)), placed != master else { continue }
                let old = placed.flatMap { state.shards[$0] }
                state.placed[key] = master
                moves.append((old, shard(master, in: &state), key))
            }
            // Shard subscribers of nodes that are no masters any more and carry nothing.
            let inUse = Set(state.placed.values.compactMap { $0 })
            let masters = Set(topology.masters)
            var idle: [RedisSubscriber] = []
            for (address, shard) in state.shards where !inUse.contains(address) && !masters.contains(address) {
                state.shards[address] = nil
                idle.append(shard)
            }
            return (moves, idle)
        }
        for shard in idle { shard.stop() }
        guard !moves.isEmpty else { return }
        logger.info("moving sharded channels", metadata: ["channels": "\(moves.count)"])
        var futures: [EventLoopFuture<Void>] = []
        for (old, new, key) in moves {
            old?.unsubscribe([key.name], kind: key.kind)
            futures.append(new.subscribeFuture([key.name], kind: key.kind))
        }
        EventLoopFuture.andAllSucceed(futures, on: eventLoop).whenComplete { result in
            switch result {
            case .success:
                self.emit(.connected(gap: true))
            case .failure(let error):
                // A MOVED already handed the channels back (`lost`); anything else: try again later.
                self.logger.warning("moving sharded channels failed", metadata: ["error": "\(error)"])
                self.eventLoop.scheduleTask(in: .milliseconds(200)) {
                    self.router.invalidate(reason: "moving sharded channels failed")
                }
            }
        }
    }

    /// Runs every shard subscriber (started as they are made) until `stop`.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            for await shard in started {
                group.addTask { try? await shard.run() }
            }
        }
    }

    func stop() {
        let shards = state.withLock { state -> [RedisSubscriber] in
            state.stopped = true
            return Array(state.shards.values)
        }
        starter.finish()
        for shard in shards { shard.stop() }
    }
}
