import NIOCore
import NIOHTTP1

/// Refuses a WebSocket upgrade from an origin that is not allowed
/// (`OriginPolicy`) with 403 before the upgrade handler sees it.
///
/// It sits between the HTTP decoder and NIO's upgrade handler and looks at
/// the connection's first request head only (that handler, too, upgrades
/// the first request or none), then removes itself.
final class OriginCheckHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let policy: OriginPolicy
    private var refused = false

    init(policy: OriginPolicy) {
        self.policy = policy
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refused { return }  // the rest of a refused request
        guard case .head(let head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        let isUpgrade = head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
        if isUpgrade, !policy.allows(origin: head.headers.first(name: "origin"), host: head.headers.first(name: "host")) {
            refused = true
            let body = #"{"error":{"code":"forbidden","message":"WebSocket connections from this origin are not allowed"}}"#
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            headers.add(name: "Content-Length", value: String(body.utf8.count))
            headers.add(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .forbidden, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(self, promise: nil)
    }
}
