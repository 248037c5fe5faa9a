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
/// lives in its handlers on its event loop.
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
            let live = self.live
            let origins = self.origins
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
                        let token = Authenticator.bearerToken(head.headers.first(name: "authorization"))
                        let query = head.uri.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
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
            return Value(result: result, channel: channel)
        }
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
