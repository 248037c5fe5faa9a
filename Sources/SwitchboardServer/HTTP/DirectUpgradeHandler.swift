import NIOCore
import SwitchboardCore

/// The first handler of a connection after the head timeout: it reads the
/// first request head from the raw bytes and decides what the connection is.
///
/// A plain WebSocket upgrade of `/ws` (`WebSocketUpgradeRequest`) from an
/// allowed origin is answered 101 here and gets the WebSocket handlers at
/// once: no HTTP/1 decoder, encoder and upgrade handler are built and torn
/// down for it (they were ~15 % of a connection's CPU in the connect storm).
/// Every other connection, and every unusual upgrade, gets NIO's HTTP/1
/// pipeline with the bytes read so far, and is served exactly as before
/// (refused origins' 403 included).
final class DirectUpgradeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    typealias Outcome = SwitchboardChannel.UpgradeResult

    private let origins: OriginPolicy
    /// Adds the WebSocket handlers after this one (target, `Authorization`).
    private let installWebSocket: (any Channel, String, String?) throws -> Void
    /// Builds the HTTP/1 pipeline after this one; its future says what became of the connection.
    private let installHTTP: (any Channel) throws -> EventLoopFuture<Outcome>
    private let result: EventLoopPromise<Outcome>
    private var buffered: ByteBuffer?
    private var decided = false

    init(
        origins: OriginPolicy, result: EventLoopPromise<Outcome>,
        installWebSocket: @escaping (any Channel, String, String?) throws -> Void,
        installHTTP: @escaping (any Channel) throws -> EventLoopFuture<Outcome>
    ) {
        self.origins = origins
        self.result = result
        self.installWebSocket = installWebSocket
        self.installHTTP = installHTTP
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if !decided {
            decided = true
            result.fail(ChannelError.ioOnClosedChannel)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else {
            context.fireChannelRead(data)
            return
        }
        var bytes = unwrapInboundIn(data)
        if var earlier = buffered {
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        switch bytes.withUnsafeReadableBytes(WebSocketUpgradeRequest.parse) {
        case .incomplete:
            buffered = bytes
        case .upgrade(let request, let headLength) where origins.allows(origin: request.origin, host: request.host):
            bytes.moveReaderIndex(forwardBy: headLength)
            upgrade(context: context, request: request, rest: bytes)
        case .upgrade, .other:
            fallBack(context: context, bytes: bytes)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if !decided, let closed = event as? ChannelEvent, closed == .inputClosed {
            // Half a head (or nothing) and then the end of the input: the HTTP pipeline answers it as it always did.
            fallBack(context: context, bytes: buffered ?? context.channel.allocator.buffer(capacity: 0), then: event)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func upgrade(context: ChannelHandlerContext, request: WebSocketUpgradeRequest, rest: ByteBuffer) {
        decided = true
        buffered = nil
        do {
            context.writeAndFlush(wrapOutboundOut(Self.response(key: request.key, allocator: context.channel.allocator)), promise: nil)
            try installWebSocket(context.channel, request.target, request.authorization)
            result.succeed(.webSocket)
        } catch {
            result.fail(error)
            context.close(promise: nil)
            return
        }
        if rest.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(rest)) }
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }

    private func fallBack(context: ChannelHandlerContext, bytes: ByteBuffer, then event: Any? = nil) {
        decided = true
        buffered = nil
        do {
            result.completeWith(try installHTTP(context.channel))
        } catch {
            result.fail(error)
            context.close(promise: nil)
            return
        }
        if bytes.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(bytes)) }
        if let event { context.fireUserInboundEventTriggered(event) }
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }

    /// The 101 answer, with the headers NIO's upgrader writes.
    static func response(key: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        let accept = Base64.encode(Crypto.sha1(Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8)))
        var buffer = allocator.buffer(capacity: 160)
        buffer.writeString(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: \(accept)\r\nConnection: upgrade\r\n\r\n")
        return buffer
    }
}
