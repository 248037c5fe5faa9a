import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Finds the master through Sentinel and follows it across failovers.
///
/// `master()` answers the known address or asks the sentinels
/// (`SENTINEL get-master-addr-by-name`), one after the other. A connection
/// that fails, or a master that turns out to be a replica (`ROLE`,
/// `READONLY`), forgets the address, so the next attempt asks again. `watch()`
/// subscribes to `+switch-master` on one sentinel at a time and moves at once
/// when the sentinels promote a replica. Every change of address is handed to
/// the listeners, which close their connections to the old master.
public final class RedisMasterLocator: Sendable {
    private struct State {
        var master: RedisConfiguration.Address?
        /// The last master known, kept across `invalidate` to tell a switch from a reconnect.
        var lastKnown: RedisConfiguration.Address?
        /// The master whose loss was logged (once, however often the sentinels still name it).
        var lossLogged: RedisConfiguration.Address?
        var discovery: EventLoopFuture<RedisConfiguration.Address>?
        var listeners: [@Sendable (RedisConfiguration.Address) -> Void] = []
        var nextSentinel = 0
        var watchConnection: RedisConnection?
        var stopped = false
    }

    /// The sentinels and the master's name.
    public let sentinel: RedisSentinelConfiguration
    private let base: RedisConfiguration
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let state = Mutex(State())

    /// `configuration.sentinel` must be set; its TLS settings and timeouts apply to the sentinels too.
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "redis.sentinel")
    ) {
        precondition(configuration.sentinel != nil, "RedisMasterLocator needs configuration.sentinel")
        self.sentinel = configuration.sentinel!
        self.base = configuration
        self.eventLoop = eventLoopGroup.next()
        self.logger = logger
    }

    /// The master's address as last discovered, nil before the first discovery or after a failure.
    public var current: RedisConfiguration.Address? { state.withLock { $0.master } }

    /// Calls `listener` with the new address whenever the master changes.
    public func onSwitch(_ listener: @escaping @Sendable (RedisConfiguration.Address) -> Void) {
        state.withLock { $0.listeners.append(listener) }
    }

    /// The master's address: the known one, or one discovery shared by every caller.
    public func master() -> EventLoopFuture<RedisConfiguration.Address> {
        let (known, pending, newPromise) = state.withLock {
            state -> (RedisConfiguration.Address?, EventLoopFuture<RedisConfiguration.Address>?, EventLoopPromise<RedisConfiguration.Address>?) in
            if let master = state.master { return (master, nil, nil) }
            if let discovery = state.discovery { return (nil, discovery, nil) }
            let promise = eventLoop.makePromise(of: RedisConfiguration.Address.self)
            state.discovery = promise.futureResult
            return (nil, nil, promise)
        }
        if let known { return eventLoop.makeSucceededFuture(known) }
        if let pending { return pending }
        let promise = newPromise!
        promise.completeWithTask { try await self.discover() }
        promise.futureResult.whenComplete { result in
            self.state.withLock { $0.discovery = nil }
            if case .success(let address) = result { self.moved(to: address, via: "sentinel") }
        }
        return promise.futureResult
    }

    /// Forgets `address` as the master (a connection to it failed or it answered as a replica).
    public func invalidate(_ address: RedisConfiguration.Address, reason: String) {
        let log = state.withLock { state -> Bool in
            guard state.master == address else { return false }
            state.master = nil
            guard state.lossLogged != address else { return false }
            state.lossLogged = address
            return true
        }
        if log {
            logger.warning("Redis master lost, asking the sentinels", metadata: ["redis": "\(address)", "reason": "\(reason)"])
        }
    }

    /// Records a new master and tells the listeners when it changed.
    private func moved(to address: RedisConfiguration.Address, via source: String) {
        let (previous, listeners) = state.withLock { state -> (RedisConfiguration.Address?, [@Sendable (RedisConfiguration.Address) -> Void]) in
            let previous = state.lastKnown
            state.master = address
            state.lastKnown = address
            if previous != address { state.lossLogged = nil }
            return (previous, state.listeners)
        }
        guard previous != address else { return }
        if let previous {
            logger.notice("Redis master switched", metadata: ["from": "\(previous)", "to": "\(address)", "via": "\(source)"])
        }
        for listener in listeners { listener(address) }
    }

    /// Asks each sentinel in turn for the master's address.
    private func discover() async throws -> RedisConfiguration.Address {
        var errors: [String] = []
        let sentinels = sentinel.sentinels
        let start = state.withLock { $0.nextSentinel }
        for offset in 0..<sentinels.count {
            let index = (start + offset) % sentinels.count
            do {
                let connection = try await connectSentinel(sentinels[index], pushHandler: nil).get()
                defer { _ = connection.close() }
                let reply = try await connection.send("SENTINEL", "get-master-addr-by-name", sentinel.masterName)
                guard let parts = reply.array, parts.count == 2, let host = parts[0].string, let port = parts[1].string.flatMap({ Int($0) })
                else {
                    errors.append("\(sentinels[index]): does not know master \(sentinel.masterName)")
                    continue
                }
                state.withLock { $0.nextSentinel = index }
                return .tcp(host: host, port: port)
            } catch {
                errors.append("\(sentinels[index]): \(error)")
            }
        }
        throw RedisError(
            code: .connectionFailed,
            message: "no sentinel answered for master \(sentinel.masterName): \(errors.joined(separator: "; "))")
    }

    private func connectSentinel(
        _ address: RedisConfiguration.Address, pushHandler: (@Sendable (RedisValue) -> Void)?
    ) -> EventLoopFuture<RedisConnection> {
        var configuration = RedisConfiguration()
        configuration.address = address
        configuration.password = sentinel.password
        configuration.tls = base.tls
        configuration.connectTimeout = base.connectTimeout
        configuration.requestTimeout = base.requestTimeout
        return RedisConnection.connect(configuration: configuration, on: eventLoop, pushHandler: pushHandler)
    }

    /// Follows `+switch-master` on one sentinel at a time until `stop()`; after
    /// every (re)subscription it asks for the master again, in case a switch
    /// happened while it was not listening.
    public func watch() async {
        var attempts = 0
        while !Task.isCancelled, !state.withLock({ $0.stopped }) {
            let sentinels = sentinel.sentinels
            let index = state.withLock { state -> Int in
                state.nextSentinel = (state.nextSentinel + (attempts > 0 ? 1 : 0)) % sentinels.count
                return state.nextSentinel
            }
            do {
                let connection = try await connectSentinel(sentinels[index]) { [weak self] reply in
                    self?.handleSentinelPush(reply)
                }.get()
                let stopped = state.withLock { state -> Bool in
                    state.watchConnection = connection
                    return state.stopped
                }
                if stopped {
                    _ = connection.close()
                    break
                }
                connection.sendWithoutReply(RedisCommand("SUBSCRIBE", ["+switch-master"]))
                attempts = 0
                if let address = try? await discover() { moved(to: address, via: "sentinel") }
                try? await connection.closeFuture.get()
                state.withLock { $0.watchConnection = nil }
            } catch {
                attempts += 1
                if attempts == 1 || attempts % 20 == 0 {
                    logger.warning("cannot reach sentinel", metadata: ["sentinel": "\(sentinels[index])", "error": "\(error)"])
                }
            }
            attempts = max(attempts, 1)
            try? await Task.sleep(nanoseconds: UInt64(base.backoff.delay(attempt: attempts).nanoseconds))
        }
    }

    /// Ends `watch()`.
    public func stop() {
        let connection = state.withLock { state -> RedisConnection? in
            state.stopped = true
            return state.watchConnection
        }
        _ = connection?.close()
    }

    /// `message +switch-master "<name> <old-ip> <old-port> <new-ip> <new-port>"`.
    private func handleSentinelPush(_ reply: RedisValue) {
        guard let parts = reply.array, parts.count == 3, parts[0].string == "message", parts[1].string == "+switch-master",
            let text = parts[2].string
        else { return }
        let fields = text.split(separator: " ")
        guard fields.count == 5, fields[0] == sentinel.masterName, let port = Int(fields[4]) else { return }
        moved(to: .tcp(host: String(fields[3]), port: port), via: "+switch-master")
    }
}
