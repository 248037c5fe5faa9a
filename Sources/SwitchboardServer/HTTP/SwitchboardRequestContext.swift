import Hummingbird
import NIOCore

/// The request context of every HTTP route: Hummingbird's core context plus
/// the client address (for rate limits).
public struct SwitchboardRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address as text, for rate-limit buckets.
    public var clientAddress: String { remoteAddress?.ipAddress ?? "unknown" }
}
