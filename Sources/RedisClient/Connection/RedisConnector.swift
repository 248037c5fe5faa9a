import NIOCore

/// How the pool and the subscriber open connections: to the configured
/// address or, with Sentinel, to the master of the moment, forgotten when a
/// connection to it fails so that the next attempt asks the sentinels.
///
/// The TLS files are read for every new connection, so a rotated CA or
/// client certificate is used from the next reconnect on.
struct RedisConnector: Sendable {
    let configuration: RedisConfiguration
    let locator: RedisMasterLocator?

    func connect(on eventLoop: any EventLoop, pushHandler: (@Sendable (RedisValue) -> Void)? = nil) -> EventLoopFuture<RedisConnection> {
        let configuration = self.configuration
        guard let locator else {
            return RedisConnection.connect(configuration: configuration, on: eventLoop, pushHandler: pushHandler)
        }
        return locator.master().hop(to: eventLoop).flatMap { address in
            var current = configuration
            current.address = address
            current.requireMaster = true
            return RedisConnection.connect(configuration: current, on: eventLoop, pushHandler: pushHandler)
                .flatMapErrorThrowing { error in
                    locator.invalidate(address, reason: "\(error)")
                    throw error
                }
        }
    }
}
