import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import SwitchboardProtocol

/// A plain WebSocket client connection on SwiftNIO (no TLS), with frames as
/// an `AsyncStream`. The building block of `SwitchboardClient` and the tests
/// (the load generator keeps a leaner handler of its own: no task per connection).
public final class WebSocketConnection: Sendable {
    /// What arrives from the server.
    public enum Inbound: Sendable, Hashable {
        case text(String)
        case binary([UInt8])
        /// The server's close frame and its status code (nil when it had none).
        case close(code: UInt16?, reason: String)
    }

    public let channel: any Channel
    /// Inbound frames; finishes when the connection closes.
    public let inbound: AsyncStream<Inbound>

    private init(channel: any Channel, inbound: AsyncStream<Inbound>) {
        self.channel = channel
        self.inbound = inbound
    }

    /// Opens `ws://host:port/path`, sending `headers` with the upgrade request.
    public static func connect(
        host: String, port: Int, path: String = "/ws", headers: [(String, String)] = [],
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        maxFrameSize: Int = 1 << 24,
        receiveBufferSize: Int? = nil
    ) async throws -> WebSocketConnection {
        let (stream, continuation) = AsyncStream.makeStream(of: Inbound.self, bufferingPolicy: .unbounded)
        var bootstrap = ClientBootstrap(group: eventLoopGroup).channelOption(.tcpOption(.tcp_nodelay), value: 1)
        if let receiveBufferSize {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBufferSize))
        }
        let upgraded =
            try await bootstrap
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOTypedWebSocketClientUpgrader<Bool>(
                        maxFrameSize: maxFrameSize,
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(
                                    NIOWebSocketFrameAggregator(
                                        minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1 << 16,
                                        maxAccumulatedFrameSize: maxFrameSize))
                                try channel.pipeline.syncOperations.addHandler(WebSocketClientHandler(continuation))
                                return true
                            }
                        })
                    var requestHeaders = HTTPHeaders()
                    requestHeaders.add(name: "Host", value: "\(host):\(port)")
                    requestHeaders.add(name: "Content-Length", value: "0")
                    for (name, value) in headers { requestHeaders.add(name: name, value: value) }
                    let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: requestHeaders)
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration<Bool>(
                        upgradeRequestHead: head, upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in channel.eventLoop.makeSucceededFuture(false) })
                    var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: configuration)
                    // Frames the server sends right after its 101 (a close with 4001,
                    // say) can arrive in the same read as the response: keep them.
                    pipeline.leftOverBytesStrategy = .forwardBytes
                    return (
                        channel,
                        try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
                    )
                }
            }
        guard try await upgraded.1.get() else {
            try? await upgraded.0.close()
            throw WebSocketConnectionError(message: "the server did not upgrade to WebSocket")
        }
        return WebSocketConnection(channel: upgraded.0, inbound: stream)
    }

    /// Sends a text frame.
    public func send(text: String) async throws {
        try await send(opcode: .text, bytes: Array(text.utf8))
    }

    /// Sends any frame (masked, as a client must): for tests of bad input too.
    public func send(opcode: WebSocketOpcode, bytes: [UInt8], fin: Bool = true) async throws {
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        let mask = WebSocketMaskingKey.random()
        let frame = WebSocketFrame(fin: fin, opcode: opcode, maskKey: mask, data: buffer)
        try await channel.writeAndFlush(frame)
    }

    /// Sends a close frame with `code`; the server answers and closes.
    public func close(code: UInt16 = CloseCode.normal.rawValue) async {
        var payload = channel.allocator.buffer(capacity: 2)
        payload.writeInteger(code)
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: payload)
        try? await channel.writeAndFlush(frame)
        _ = try? await channel.closeFuture.get()
    }

    /// Drops the TCP connection without a close handshake.
    public func abort() async {
        try? await channel.close()
    }

    /// Stops reading from the socket (the server's writes back up): for slow-consumer tests.
    public func pauseReading() async {
        try? await channel.setOption(.autoRead, value: false)
    }

    /// Starts reading again.
    public func resumeReading() async {
        try? await channel.setOption(.autoRead, value: true)
        channel.read()
    }
}

/// The connection failed to open.
public struct WebSocketConnectionError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Feeds inbound frames to the connection's stream and answers pings and closes.
final class WebSocketClientHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let continuation: AsyncStream<WebSocketConnection.Inbound>.Continuation
    private var closeSent = false

    init(_ continuation: AsyncStream<WebSocketConnection.Inbound>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        var payload = frame.unmaskedData
        switch frame.opcode {
        case .text:
            continuation.yield(.text(payload.readString(length: payload.readableBytes) ?? ""))
        case .binary:
            continuation.yield(.binary(payload.readBytes(length: payload.readableBytes) ?? []))
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            let code = payload.readInteger(as: UInt16.self)
            let reason = payload.readString(length: payload.readableBytes) ?? ""
            continuation.yield(.close(code: code, reason: reason))
            if !closeSent {
                closeSent = true
                var echo = context.channel.allocator.buffer(capacity: 2)
                echo.writeInteger(code ?? 1000)
                let reply = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: echo)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in channel.close(promise: nil) }
            }
        default:
            break
        }
    }

    /// The stream ends when the pipeline goes away, which comes after any
    /// frame the upgrade buffered (a close frame, say), also when the server
    /// closed while the upgrade was completing (then no `channelInactive`
    /// reaches this handler).
    func handlerRemoved(context: ChannelHandlerContext) {
        continuation.finish()
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
