import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// One connection to Redis with pipelining: any number of requests in
/// flight, replies matched in order. Thread safe; calls from off the
/// connection's event loop hop onto it.
public final class RedisConnection: Sendable {
    /// The NIO channel under the connection.
    public let channel: any Channel
    /// The server this connection went to (with Sentinel, the master of the moment).
    public let address: RedisConfiguration.Address
    private let handler: NIOLoopBound<RedisChannelHandler>

    /// The event loop every future of this connection completes on.
    public var eventLoop: any EventLoop { channel.eventLoop }
    /// Whether the socket is still open.
    public var isActive: Bool { channel.isActive }
    /// Completes when the connection closes.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    private init(channel: any Channel, address: RedisConfiguration.Address, handler: RedisChannelHandler) {
        self.channel = channel
        self.address = address
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
    }

    /// Connects, authenticates and selects the database. The future fails with
    /// `connectionFailed` when Redis cannot be reached or refuses AUTH, and,
    /// over TLS, with a message naming the cause when the handshake fails.
    ///
    /// With `configuration.tls` a `NIOSSLClientHandler` comes first in the
    /// pipeline and hiredis parses what it decrypts; `tlsContext` is the
    /// context built once by the pool (made here from the files when nil).
    public static func connect(
        configuration: RedisConfiguration,
        on eventLoop: any EventLoop,
        tlsContext: NIOSSLContext? = nil,
        pushHandler: (@Sendable (RedisValue) -> Void)? = nil
    ) -> EventLoopFuture<RedisConnection> {
        let timeout = configuration.requestTimeout
        var tls: (configuration: RedisTLSConfiguration, context: NIOSSLContext)?
        if let tlsConfiguration = configuration.tls {
            do {
                tls = (tlsConfiguration, try tlsContext ?? tlsConfiguration.makeContext())
            } catch {
                return eventLoop.makeFailedFuture(error)
            }
        }
        var host = ""
        if case .tcp(let tcpHost, _) = configuration.address { host = tcpHost }
        let tlsHost = host
        var bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelInitializer { [tls] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            try tls.configuration.makeHandler(context: tls.context, host: tlsHost))
                    }
                    let handler = RedisChannelHandler(requestTimeout: timeout)
                    if let pushHandler { handler.pushHandler = { pushHandler($0) } }
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        let connected: EventLoopFuture<any Channel>
        switch configuration.address {
        case .tcp(let host, let port):
            bootstrap = bootstrap.channelOption(.tcpOption(.tcp_nodelay), value: 1)
            connected = bootstrap.connect(host: host, port: port)
        case .unix(let path):
            connected = bootstrap.connect(unixDomainSocketPath: path)
        }
        return connected.flatMapErrorThrowing { error in
            throw RedisError(
                code: .connectionFailed,
                message: "cannot connect to Redis at \(configuration.address): \(error)"
            )
        }.flatMap { channel in
            channel.eventLoop.makeCompletedFuture {
                let handler = try channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self)
                return RedisConnection(channel: channel, address: configuration.address, handler: handler)
            }
        }.flatMap { (connection: RedisConnection) -> EventLoopFuture<RedisConnection> in
            connection.handshake(configuration).map { @Sendable in connection }.flatMapError { @Sendable error in
                connection.channel.close(promise: nil)
                guard let tls = configuration.tls, let redisError = error as? RedisError,
                    redisError.code == .connectionClosed || redisError.code == .timeout
                else {
                    return connection.eventLoop.makeFailedFuture(error)
                }
                return connection.eventLoop.makeFailedFuture(
                    RedisError(
                        code: .connectionFailed,
                        message: RedisTLSConfiguration.explain(
                            redisError.message, address: configuration.address, serverName: tls.serverName)))
            }
        }
    }

    private func handshake(_ configuration: RedisConfiguration) -> EventLoopFuture<Void> {
        var commands: [RedisCommand] = []
        if let password = configuration.password {
            if let username = configuration.username {
                commands.append(RedisCommand("AUTH", [username, password]))
            } else {
                commands.append(RedisCommand("AUTH", [password]))
            }
        }
        if configuration.database != 0 { commands.append(RedisCommand("SELECT", [configuration.database])) }
        if let name = configuration.clientName { commands.append(RedisCommand("CLIENT", ["SETNAME", name])) }
        // Over TLS a round trip proves the handshake went through both ways
        // (with TLS 1.3 the server checks the client's certificate after the
        // client considers the handshake done).
        if commands.isEmpty, configuration.tls != nil { commands.append(RedisCommand("PING")) }
        if configuration.requireMaster { commands.append(RedisCommand("ROLE")) }
        guard !commands.isEmpty else { return eventLoop.makeSucceededVoidFuture() }
        let sent = commands
        return send(sent).flatMapThrowing { replies in
            for (command, reply) in zip(sent, replies) {
                if let message = reply.errorMessage {
                    throw RedisError(code: .connectionFailed, message: "Redis refused \(command.name): \(message)")
                }
                if command.name == "ROLE", let role = reply.array?.first?.string, role != "master" {
                    throw RedisError(
                        code: .notMaster, message: "Redis at \(configuration.address) is a \(role), not the master")
                }
            }
        }
    }

    /// Sends one command. Error replies complete the future as `.error`; the
    /// future fails only when the connection fails or times out.
    public func send(_ command: RedisCommand) -> EventLoopFuture<RedisValue> {
        let promise = eventLoop.makePromise(of: RedisValue.self)
        var buffer = channel.allocator.buffer(capacity: 32 + command.arguments.reduce(0) { $0 + $1.count + 16 })
        RedisCommandEncoder.encode(command, into: &buffer)
        write(buffer, promise: promise)
        return promise.futureResult
    }

    /// Sends a command without waiting for a reply (pub/sub commands, whose
    /// confirmations arrive through the push handler).
    func sendWithoutReply(_ command: RedisCommand) {
        var buffer = channel.allocator.buffer(capacity: 64)
        RedisCommandEncoder.encode(command, into: &buffer)
        write(buffer, promise: nil)
    }

    /// Sends several commands in one write; the replies come back in order.
    public func send(_ commands: [RedisCommand]) -> EventLoopFuture<[RedisValue]> {
        if commands.isEmpty { return eventLoop.makeSucceededFuture([]) }
        let promises = commands.map { _ in eventLoop.makePromise(of: RedisValue.self) }
        let buffer = RedisCommandEncoder.encode(commands, allocator: channel.allocator)
        if eventLoop.inEventLoop {
            handler.value.enqueue(buffer, promises: promises)
        } else {
            let handler = self.handler
            eventLoop.execute { handler.value.enqueue(buffer, promises: promises) }
        }
        return EventLoopFuture.whenAllSucceed(promises.map(\.futureResult), on: eventLoop)
    }

    private func write(_ buffer: ByteBuffer, promise: EventLoopPromise<RedisValue>?) {
        if eventLoop.inEventLoop {
            handler.value.enqueue(buffer, promise: promise)
        } else {
            let handler = self.handler
            eventLoop.execute { handler.value.enqueue(buffer, promise: promise) }
        }
    }

    /// Closes the connection; requests in flight fail with `connectionClosed`.
    public func close() -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        channel.close(promise: promise)
        return promise.futureResult.recover { _ in }
    }
}

extension RedisConnection {
    /// Sends one command and throws Redis' error reply as `RedisError.server`.
    public func send(_ name: String, _ arguments: any RedisArgumentConvertible...) async throws -> RedisValue {
        try await send(RedisCommand(name, arguments)).get().throwingError()
    }
}
