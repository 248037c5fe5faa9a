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

    /// The TCP peer's IP address as text. Rate limits use
    /// `ClientAddressResolver`, which believes a trusted proxy's header.
    public var peerAddress: String { remoteAddress?.ipAddress ?? "unknown" }
}
