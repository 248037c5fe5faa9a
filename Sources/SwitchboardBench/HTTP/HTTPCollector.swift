import NIOCore
import NIOHTTP1

/// Writes requests and completes their promises with the responses, in
/// order (HTTP/1.1 keep-alive, pipelined when several are in flight).
final class HTTPCollector: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private var waiting = CircularBuffer<EventLoopPromise<HTTPResult>>()
    private var status = 0
    private var retryAfter: Int?
    private var body: [UInt8] = []
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Writes a request; on the channel's event loop only.
    func send(_ head: HTTPRequestHead, body: ByteBuffer?, promise: EventLoopPromise<HTTPResult>) {
        guard let context else {
            promise.fail(BenchError("HTTP connection closed"))
            return
        }
        waiting.append(promise)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            retryAfter = head.headers.first(name: "retry-after").flatMap { Int($0) }
            body = []
        case .body(let part):
            body.append(contentsOf: part.readableBytesView)
        case .end:
            waiting.popFirst()?.succeed(HTTPResult(status: status, body: body, retryAfter: retryAfter))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        while let promise = waiting.popFirst() { promise.fail(BenchError("HTTP connection closed")) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
