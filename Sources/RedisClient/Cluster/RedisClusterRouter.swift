import Logging
import NIOCore
import Synchronization

/// Routes commands to the masters of a Redis Cluster by hash slot.
///
/// - One pool of pipelined connections per master (`configuration.poolSize`
///   each), opened lazily.
/// - A command goes to the master of its keys' slot; keys in different slots
///   are refused before anything is sent (`crossSlot`), so Redis never answers `CROSSSLOT`.
/// - Keyless commands (`PING`, `INFO`, `TIME`, `PUBLISH` …) go to any
///   master (`WAIT` goes with the write it waits for: `send(_:followedBy:)`);
///   `SCRIPT` and `FUNCTION` go to every master (a script is loaded on each
///   shard) and answer the first master's reply (`SCRIPT EXISTS`: 1 only
///   where every master has the script). For `SCAN`-like walks over every
///   shard, use `masters()` and send to each (`RedisClient.sendToEveryMaster`).
/// - `MOVED` patches the slot map, asks for a refresh and retries on the new
///   master; `ASK` sends `ASKING` + the command to the target once; `TRYAGAIN`
///   and `CLUSTERDOWN` retry after a short delay. A connection that cannot be
///   opened refreshes the map and retries; a request lost in flight (the
///   connection closed or timed out after it was sent) fails as with one
///   Redis, since it may have run.
/// - The slot map is read with `CLUSTER SHARDS` at the first request, after a
///   redirect or a connection failure, and every `refreshInterval`.
public final class RedisClusterRouter: Sendable {
    private struct State {
        var topology: RedisClusterTopology?
        var pools: [RedisConfiguration.Address: RedisNodePool] = [:]
        var refreshing: EventLoopFuture<RedisClusterTopology>?
        var stale = false
        var shutdown = false
        var next = 0
        /// Slot map reads that failed in a row (for the TLS error log).
        var failedRefreshes = 0
    }

    let configuration: RedisConfiguration
    let cluster: RedisClusterConfiguration
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    private let state = Mutex(State())
    private let observers = Mutex<[@Sendable (RedisClusterTopology) -> Void]>([])

    init(configuration: RedisConfiguration, cluster: RedisClusterConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        var base = configuration
        base.cluster = nil
        base.sentinel = nil
        base.database = 0
        self.configuration = base
        self.cluster = cluster
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    private var eventLoop: any EventLoop { eventLoopGroup.any() }

    /// Calls `observer` after every refresh of the slot map (the subscriber moves channels with it).
    func onRefresh(_ observer: @escaping @Sendable (RedisClusterTopology) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    // MARK: Slot map

    /// The slot map, read first if there is none yet or it was marked stale.
    public func topology() -> EventLoopFuture<RedisClusterTopology> {
        let current = state.withLock { state -> RedisClusterTopology? in state.stale ? nil : state.topology }
        if let current { return eventLoop.makeSucceededFuture(current) }
        return refresh()
    }

    /// Reads the slot map again (one request at a time; concurrent callers share it).
    @discardableResult
    public func refresh() -> EventLoopFuture<RedisClusterTopology> {
        let loop = eventLoop
        let (existing, promise, candidates) = state.withLock {
            state -> (EventLoopFuture<RedisClusterTopology>?, EventLoopPromise<RedisClusterTopology>?, [RedisConfiguration.Address]) in
            if let refreshing = state.refreshing { return (refreshing, nil, []) }
            let promise = loop.makePromise(of: RedisClusterTopology.self)
            state.refreshing = promise.futureResult
            var candidates = state.topology?.masters ?? []
            candidates += (state.topology?.shards.flatMap(\.replicas) ?? [])
            for seed in cluster.seeds where !candidates.contains(seed) { candidates.append(seed) }
            return (nil, promise, candidates)
        }
        if let existing { return existing }
        guard let promise else { fatalError("unreachable") }
        ask(candidates, index: 0, errors: [], on: loop).whenComplete { result in
            let observers = self.observers.withLock { $0 }
            let failures = self.state.withLock { state -> Int in
                state.refreshing = nil
                if case .success(let topology) = result {
                    state.topology = topology
                    state.stale = false
                    state.failedRefreshes = 0
                } else {
                    state.failedRefreshes += 1
                }
                return state.failedRefreshes
            }
            switch result {
            case .success(let topology):
                for observer in observers { observer(topology) }
            case .failure(let error):
                // Not a network blip: retrying will not help until someone fixes the certificates.
                let message = (error as? RedisError)?.message ?? "\(error)"
                if RedisTLSConfiguration.isHandshakeFailure(message), failures == 1 || failures % 20 == 0 {
                    self.logger.error("Redis TLS failed", metadata: ["error": "\(message)", "attempt": "\(failures)"])
                }
            }
            promise.completeWith(result)
        }
        return promise.futureResult
    }

    /// Asks the nodes in turn for `CLUSTER SHARDS` on a connection of its own.
    private func ask(
        _ nodes: [RedisConfiguration.Address], index: Int, errors: [String], on loop: any EventLoop
    ) -> EventLoopFuture<RedisClusterTopology> {
        guard index < nodes.count else {
            return loop.makeFailedFuture(
                RedisError(
                    code: .clusterDown,
                    message: "no cluster node answered CLUSTER SHARDS (\(errors.joined(separator: "; ")))"))
        }
        let node = nodes[index]
        var nodeConfiguration = configuration
        nodeConfiguration.address = node
        nodeConfiguration.clientName = nil
        let tls = configuration.tls != nil
        return RedisConnection.connect(configuration: nodeConfiguration, on: loop).flatMap { connection in
            connection.send(RedisCommand("CLUSTER", ["SHARDS"])).always { _ in connection.channel.close(promise: nil) }
        }.flatMapThrowing { reply -> RedisClusterTopology in
            if let message = reply.errorMessage { throw RedisError.server(message) }
            var host = ""
            if case .tcp(let nodeHost, _) = node { host = nodeHost }
            let topology = try RedisClusterTopology(shardsReply: reply, tls: tls, answeredBy: host)
            guard topology.coversAllSlots || index == nodes.count - 1 else {
                throw RedisError(code: .clusterDown, message: "\(node) does not know a master for every slot")
            }
            return topology
        }.flatMapError { error in
            let text = (error as? RedisError)?.message ?? "\(error)"
            return self.ask(nodes, index: index + 1, errors: errors + ["\(node): \(text)"], on: loop)
        }
    }

    /// Marks the map stale (read again before the next request) and refreshes it in the background.
    func invalidate(reason: String) {
        let alreadyStale = state.withLock { state -> Bool in
            defer { state.stale = true }
            return state.stale
        }
        if !alreadyStale { logger.info("cluster slot map refresh", metadata: ["reason": "\(reason)"]) }
        refresh().whenFailure { error in
            self.logger.warning("cluster slot map refresh failed", metadata: ["error": "\(error)"])
        }
    }

    /// Patches one slot after a `MOVED` and refreshes the whole map in the background.
    private func moved(_ redirect: RedisClusterRedirect) {
        state.withLock { state in state.topology?.assign(redirect.slot, to: redirect.address) }
        refresh().whenFailure { _ in self.invalidate(reason: "MOVED \(redirect.slot)") }
    }

    /// The current masters (reading the map first when needed).
    public func masters() -> EventLoopFuture<[RedisConfiguration.Address]> {
        topology().map(\.masters)
    }

    func pool(for address: RedisConfiguration.Address) -> RedisNodePool {
        state.withLock { state in
            if let pool = state.pools[address] { return pool }
            var nodeConfiguration = configuration
            nodeConfiguration.address = address
            let pool = RedisNodePool(configuration: nodeConfiguration, eventLoopGroup: eventLoopGroup, logger: logger)
            state.pools[address] = pool
            return pool
        }
    }

    /// A master for a keyless command (round robin over the masters).
    private func anyMaster(_ topology: RedisClusterTopology) -> RedisConfiguration.Address? {
        let masters = topology.masters
        guard !masters.isEmpty else { return nil }
        let index = state.withLock { state -> Int in
            state.next &+= 1
            return state.next
        }
        return masters[abs(index % masters.count)]
    }

    // MARK: Commands

    static func isBroadcast(_ command: RedisCommand) -> Bool {
        let name = command.name
        return name == "SCRIPT" || name == "FUNCTION"
    }

    /// Sends one command to the master of its slot, following redirects.
    public func send(_ command: RedisCommand) -> EventLoopFuture<RedisValue> {
        let slot: RedisHashSlot?
        do {
            slot = try command.hashSlot()
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        if slot == nil, Self.isBroadcast(command) { return sendToEveryMaster(command).map(Self.combine) }
        return send([command], slot: slot, attempt: 0).map { $0[0] }
    }

    /// Sends `command` and then the keyless `followUp` in one write on one
    /// connection to the master of `command`'s slot, and answers both replies.
    /// A redirect (`MOVED`, `ASK`, `TRYAGAIN`) or a connection that could not
    /// be opened sends both again, together, to the master that will run the
    /// command: `WAIT` counts the replicas of its own connection's writes, so
    /// it must follow its script wherever the script goes.
    public func send(_ command: RedisCommand, followedBy followUp: RedisCommand) -> EventLoopFuture<(RedisValue, RedisValue)> {
        let slot: RedisHashSlot?
        do {
            slot = try command.hashSlot()
            if try followUp.hashSlot() != nil {
                throw RedisError(code: .crossSlot, message: "\(followUp.name): a follow-up command must be keyless")
            }
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        return send([command, followUp], slot: slot, attempt: 0).map { ($0[0], $0[1]) }
    }

    /// Sends a unit, a keyed command and the keyless commands that go with it,
    /// as one write to the master of `slot`; redirects and reconnects send
    /// the whole unit again.
    private func send(_ unit: [RedisCommand], slot: RedisHashSlot?, attempt: Int) -> EventLoopFuture<[RedisValue]> {
        topology().flatMap { topology -> EventLoopFuture<[RedisValue]> in
            guard let address = slot.map({ topology.master(for: $0) }) ?? self.anyMaster(topology) else {
                return self.retry(unit, slot: slot, attempt: attempt, reason: "no master serves slot \(slot.map { "\($0)" } ?? "-")")
            }
            return self.pool(for: address).send(unit).flatMap { replies in
                self.follow(replies, of: unit, slot: slot, from: address, attempt: attempt)
            }.flatMapError { error in
                self.recover(error, unit: unit, slot: slot, attempt: attempt, node: address)
            }
        }
    }

    /// Follows a redirect in the reply to the unit's first command, or answers the replies.
    private func follow(
        _ replies: [RedisValue], of unit: [RedisCommand], slot: RedisHashSlot?, from node: RedisConfiguration.Address, attempt: Int
    ) -> EventLoopFuture<[RedisValue]> {
        guard let reply = replies.first, let message = reply.errorMessage else { return eventLoop.makeSucceededFuture(replies) }
        if let redirect = RedisClusterRedirect(reply, from: node) {
            guard attempt < cluster.maxRedirects else {
                return eventLoop.makeFailedFuture(
                    RedisError(code: .clusterDown, message: "\(unit[0].name): too many redirects, last \(message)"))
            }
            switch redirect.kind {
            case .moved:
                moved(redirect)
                return send(unit, slot: slot ?? redirect.slot, attempt: attempt + 1)
            case .ask:
                return pool(for: redirect.address).send([RedisCommand("ASKING")] + unit).flatMap { replies in
                    self.follow(Array(replies.dropFirst()), of: unit, slot: slot, from: redirect.address, attempt: attempt + 1)
                }
            }
        }
        if message.hasPrefix("TRYAGAIN") || message.hasPrefix("CLUSTERDOWN") {
            if message.hasPrefix("CLUSTERDOWN") { invalidate(reason: message) }
            return retry(unit, slot: slot, attempt: attempt, reason: message, otherwise: replies)
        }
        return eventLoop.makeSucceededFuture(replies)
    }

    /// After a failed request: a connection that could not be opened is retried (after a refresh).
    private func recover(
        _ error: any Error, unit: [RedisCommand], slot: RedisHashSlot?, attempt: Int, node: RedisConfiguration.Address
    ) -> EventLoopFuture<[RedisValue]> {
        guard let redisError = error as? RedisError, redisError.isConnectionError, redisError.code != .shutdown else {
            return eventLoop.makeFailedFuture(error)
        }
        invalidate(reason: "\(node): \(redisError.message)")
        // Only a request that never left is safe to send again.
        guard redisError.code == .connectionFailed || redisError.code == .clusterDown else {
            return eventLoop.makeFailedFuture(error)
        }
        return retry(unit, slot: slot, attempt: attempt, reason: redisError.message, error: redisError)
    }

    private func retry(
        _ unit: [RedisCommand], slot: RedisHashSlot?, attempt: Int, reason: String,
        otherwise replies: [RedisValue]? = nil, error: RedisError? = nil
    ) -> EventLoopFuture<[RedisValue]> {
        guard attempt < cluster.maxRedirects else {
            if let replies { return eventLoop.makeSucceededFuture(replies) }
            return eventLoop.makeFailedFuture(
                error ?? RedisError(code: .clusterDown, message: "\(unit[0].name): \(reason) (after \(attempt) retries)"))
        }
        let delay = configuration.backoff.delay(attempt: attempt + 1)
        let loop = eventLoop
        return loop.scheduleTask(in: delay) {}.futureResult.flatMap {
            self.send(unit, slot: slot, attempt: attempt + 1)
        }
    }

    /// Sends commands pipelined: one write per master; replies in order.
    /// A keyless command goes with the keyed command before it, or after it
    /// when it is first. Redirected replies are followed one by one, so a
    /// keyless command is not sent again with a redirected one: for `WAIT`
    /// after a script use `send(_:followedBy:)`. Fails with
    /// `crossSlot` before sending anything when one command has keys in
    /// different slots.
    public func pipeline(_ commands: [RedisCommand]) -> EventLoopFuture<[RedisValue]> {
        if commands.isEmpty { return eventLoop.makeSucceededFuture([]) }
        let slots: [RedisHashSlot?]
        do {
            slots = try commands.map { command throws(RedisError) in try command.hashSlot() }
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        return topology().flatMap { topology in
            var groups: [RedisConfiguration.Address: [Int]] = [:]
            var order: [RedisConfiguration.Address] = []
            var broadcast: [Int] = []
            var previous: RedisConfiguration.Address? = slots.lazy.compactMap { $0 }.first.flatMap { topology.master(for: $0) }
            for (index, command) in commands.enumerated() {
                if slots[index] == nil, Self.isBroadcast(command) {
                    broadcast.append(index)
                    continue
                }
                let target = slots[index].flatMap { topology.master(for: $0) } ?? previous ?? self.anyMaster(topology)
                guard let target else {
                    broadcast.append(index)  // no master known for the slot: sent alone, with retries
                    continue
                }
                previous = target
                if groups[target] == nil { order.append(target) }
                groups[target, default: []].append(index)
            }
            var futures: [EventLoopFuture<[(Int, RedisValue)]>] = []
            for address in order {
                let indexes = groups[address]!
                let batch = indexes.map { commands[$0] }
                let future = self.pool(for: address).send(batch).flatMap { replies -> EventLoopFuture<[(Int, RedisValue)]> in
                    let followed = zip(indexes, replies).map { index, reply in
                        self.follow([reply], of: [commands[index]], slot: slots[index], from: address, attempt: 0).map { (index, $0[0]) }
                    }
                    return EventLoopFuture.whenAllSucceed(followed, on: self.eventLoop)
                }.flatMapError { error -> EventLoopFuture<[(Int, RedisValue)]> in
                    // The whole batch could not be sent: each command is retried like a single one.
                    guard let redisError = error as? RedisError, redisError.code == .connectionFailed else {
                        return self.eventLoop.makeFailedFuture(error)
                    }
                    self.invalidate(reason: "\(address): \(redisError.message)")
                    let retried = indexes.map { index in
                        self.retry([commands[index]], slot: slots[index], attempt: 0, reason: redisError.message, error: redisError)
                            .map { (index, $0[0]) }
                    }
                    return EventLoopFuture.whenAllSucceed(retried, on: self.eventLoop)
                }
                futures.append(future)
            }
            for index in broadcast {
                futures.append(self.send(commands[index]).map { [(index, $0)] })
            }
            return EventLoopFuture.whenAllSucceed(futures, on: self.eventLoop).map { parts in
                var replies = [RedisValue](repeating: .null, count: commands.count)
                for part in parts { for (index, reply) in part { replies[index] = reply } }
                return replies
            }
        }
    }

    /// Sends a command to every master; replies in the order of `masters()`.
    public func sendToEveryMaster(_ command: RedisCommand) -> EventLoopFuture<[RedisValue]> {
        masters().flatMap { masters in
            let futures = masters.map { address in
                self.pool(for: address).send([command]).map { $0[0] }
            }
            return EventLoopFuture.whenAllSucceed(futures, on: self.eventLoop)
        }
    }

    /// One reply from every master's: an error if any, `SCRIPT EXISTS`-like
    /// arrays of 0/1 combined (1 only where all answered 1), else the first.
    static func combine(_ replies: [RedisValue]) -> RedisValue {
        if let error = replies.first(where: { $0.errorMessage != nil }) { return error }
        guard let first = replies.first else { return .null }
        if let firstArray = first.array, firstArray.allSatisfy({ $0.int != nil }) {
            var combined = firstArray.map { $0.int ?? 0 }
            for reply in replies.dropFirst() {
                for (index, value) in (reply.array ?? []).enumerated() where index < combined.count {
                    combined[index] = min(combined[index], value.int ?? 0)
                }
            }
            return .array(combined.map { .integer(Int64($0)) })
        }
        return first
    }

    /// Closes every pool.
    func shutdown() async {
        let pools = state.withLock { state -> [RedisNodePool] in
            state.shutdown = true
            return Array(state.pools.values)
        }
        for pool in pools { await pool.shutdown() }
    }
}

/// The pool of one cluster node: a few pipelined connections, picked as
/// `RedisSlotRing` does (the caller's event loop first).
final class RedisNodePool: Sendable {
    let address: RedisConfiguration.Address
    private let slots: [RedisConnectionSlot]
    private let ring: RedisSlotRing

    init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.address = configuration.address
        let connector = RedisConnector(configuration: configuration, locator: nil)
        let slots = (0..<max(1, configuration.poolSize)).map { _ in
            RedisConnectionSlot(connector: connector, eventLoop: eventLoopGroup.next(), logger: logger)
        }
        self.slots = slots
        self.ring = RedisSlotRing(slots)
    }

    private func slot() -> RedisConnectionSlot { ring.pick() }

    /// A live connection of the pool.
    func connection() -> EventLoopFuture<RedisConnection> { slot().connection() }

    /// Sends commands in one write on one connection.
    func send(_ commands: [RedisCommand]) -> EventLoopFuture<[RedisValue]> {
        let slot = slot()
        if let connection = slot.ready { return connection.send(commands) }
        return slot.connection().flatMap { $0.send(commands) }
    }

    func shutdown() async {
        for slot in slots { await slot.shutdown() }
    }
}
