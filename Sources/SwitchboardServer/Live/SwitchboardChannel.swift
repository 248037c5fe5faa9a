import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
import SwitchboardCore

/// The child channel of every accepted connection: HTTP/1.1 for the REST API
/// through Hummingbird, or, for `GET /ws` with an upgrade, plain SwiftNIO
/// WebSocket handlers. After an upgrade no task stays behind: the connection
/// lives in its handlers on its event loop. `DirectUpgradeHandler` upgrades
/// a plain `GET /ws` itself; NIO's HTTP/1 pipeline (and its upgrader) serves
/// everything else.
struct SwitchboardChannel: ServerChildChannel, HTTPChannelHandler {
    enum UpgradeResult: Sendable {
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case webSocket
    }

    struct Value: ServerChildChannelValue {
        let result: EventLoopFuture<UpgradeResult>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let live: LiveContext
    let idleTimeout: TimeAmount?
    let headerTimeout: TimeAmount?
    let origins: OriginPolicy

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // The channel keeps its first receive buffer for its whole life, at
            // the size of the first read (NIO's default: 2 KB): start small, so
            // an idle WebSocket holds 256 bytes. Larger reads get larger buffers.
            try channel.syncOptions?.setOption(
                ChannelOptions.recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 64 * 1024))
            if let headerTimeout {
                try channel.pipeline.syncOperations.addHandler(RequestHeadTimeoutHandler(timeout: headerTimeout))
            }
            let result = channel.eventLoop.makePromise(of: UpgradeResult.self)
            try channel.pipeline.syncOperations.addHandler(
                DirectUpgradeHandler(
                    origins: origins, result: result,
                    installWebSocket: { channel, target, authorization in
                        let maxMessage = live.switchboard.configuration.limits.webSocketMessageSize
                        try channel.pipeline.syncOperations.addHandlers(
                            WebSocketFrameEncoder(), ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxMessage)))
                        try Self.addWebSocketHandlers(channel: channel, target: target, authorization: authorization, live: live)
                    },
                    installHTTP: { channel in try configureHTTP(channel: channel, logger: logger) }))
            return Value(result: result.futureResult, channel: channel)
        }
    }

    /// The session's handlers of an upgraded connection (after NIO's frame encoder and decoder).
    static func addWebSocketHandlers(channel: any Channel, target: String, authorization: String?, live: LiveContext) throws {
        let maxMessage = live.switchboard.configuration.limits.webSocketMessageSize
        let token = Authenticator.bearerToken(authorization)
        let query = target.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
        let resumeAnnounced = query.split(separator: "&").contains("resume=1")
        let operations = channel.pipeline.syncOperations
        // Small socket-side buffer: backpressure reaches the session's bounded queue early.
        try channel.syncOptions?.setOption(
            ChannelOptions.writeBufferWaterMark, value: .init(low: 16 * 1024, high: 64 * 1024))
        try operations.addHandler(
            NIOWebSocketFrameAggregator(
                minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1024,
                maxAccumulatedFrameSize: maxMessage))
        let writer = FrameWriter(
            maxFrames: live.configuration.outboundMaxFrames, maxBytes: live.configuration.outboundMaxBytes)
        try operations.addHandler(writer, position: .first)
        try operations.addHandler(
            WebSocketSession(
                live: live, eventLoop: channel.eventLoop, writer: writer, headerToken: token,
                resumeAnnounced: resumeAnnounced))
    }

    /// NIO's HTTP/1 pipeline with its WebSocket upgrader: every connection
    /// that `DirectUpgradeHandler` does not upgrade itself.
    private func configureHTTP(channel: any Channel, logger: Logger) throws -> EventLoopFuture<UpgradeResult> {
        let live = self.live
        let maxMessage = live.switchboard.configuration.limits.webSocketMessageSize
        let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
            maxFrameSize: maxMessage,
            enableAutomaticErrorHandling: false,
            shouldUpgrade: { channel, head in
                let path = head.uri.split(separator: "?", maxSplits: 1).first ?? ""
                // (Another site's page never gets here: `OriginCheckHandler` answered 403.)
                return channel.eventLoop.makeSucceededFuture(path == "/ws" ? HTTPHeaders() : nil)
            },
            upgradePipelineHandler: { channel, head in
                channel.eventLoop.makeCompletedFuture {
                    try Self.addWebSocketHandlers(
                        channel: channel, target: head.uri, authorization: head.headers.first(name: "authorization"), live: live)
                    return UpgradeResult.webSocket
                }
            }
        )
        let upgradeConfiguration = NIOTypedHTTPServerUpgradeConfiguration(
            upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                    try channel.pipeline.syncOperations.addHandler(
                        HTTPConnectionStateHandler(idleTimeout: self.idleTimeout.map { .init($0) }, logger: logger))
                    let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(isOutboundHalfClosureEnabled: true))
                    return UpgradeResult.http(asyncChannel)
                }
            }
        )
        var configuration = NIOUpgradableHTTPServerPipelineConfiguration<UpgradeResult>(
            upgradeConfiguration: upgradeConfiguration)
        configuration.enablePipelining = false
        configuration.enableErrorHandling = false
        configuration.enableResponseHeaderValidation = false
        let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(
            configuration: configuration)
        let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        try channel.pipeline.syncOperations.addHandler(OriginCheckHandler(policy: origins), position: .after(decoder))
        return result
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.result.get() {
            case .http(let channel):
                await handleHTTP(asyncChannel: channel, logger: logger)
            case .webSocket:
                return  // the connection now lives in its NIO handlers
            }
        } catch {
            logger.debug("connection setup failed", metadata: ["error": "\(error)"])
        }
    }
}
