import Dispatch
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import RedisClient
import SwitchboardCore

@testable import SwitchboardServer

/// What every input shares: one testing event loop (thread-safe: an `auth`
/// op verifies its token in a task and comes back to the loop) and the
/// node's live context. The JWT secret is configured, so verifying a token
/// never reads Redis; the Redis client points at a port nothing listens on,
/// and nothing here gets past authentication (a token can't be forged), so
/// nothing connects.
private final class Node: @unchecked Sendable {
    let loop = NIOAsyncTestingEventLoop()
    let live: LiveContext
    let maxMessage: Int

    init() {
        var configuration = SwitchboardConfiguration()
        configuration.redisURL = "redis://127.0.0.1:1"
        configuration.auth.jwtSecret = String(repeating: "fuzz-secret-", count: 4)
        var logger = Logger(label: "fuzz")
        logger.logLevel = .critical
        let redis = RedisClient(configuration: try! RedisConfiguration(url: configuration.redisURL!), eventLoopGroup: loop)
        let switchboard = Switchboard(configuration: configuration, redis: redis, logger: logger)
        let background = BackgroundWork(logger: logger)
        let hub = try! FanoutHub(switchboard: switchboard, eventLoopGroup: loop, background: background, logger: logger)
        let live = LiveContext(switchboard: switchboard, hub: hub, background: background, logger: logger)
        self.live = live
        maxMessage = configuration.limits.webSocketMessageSize
        let loop = self.loop
        try! loop.submit { hub.loopHub(for: loop).startTimer() }.wait()
    }

    /// A channel with the handlers `SwitchboardChannel` adds after the
    /// upgrade (`NIOTypedWebSocketServerUpgrader` with automatic error
    /// handling off: encoder, decoder, then ours).
    func connection() async throws -> NIOAsyncTestingChannel {
        let channel = NIOAsyncTestingChannel(loop: loop)
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9))
        let live = self.live
        let maxMessage = self.maxMessage
        let loop = self.loop
        try await loop.executeInContext {
            let operations = channel.pipeline.syncOperations
            try operations.addHandler(WebSocketFrameEncoder())
            try operations.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maxMessage)))
            try operations.addHandler(
                NIOWebSocketFrameAggregator(
                    minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1024, maxAccumulatedFrameSize: maxMessage))
            let writer = FrameWriter(maxFrames: live.configuration.outboundMaxFrames, maxBytes: live.configuration.outboundMaxBytes)
            try operations.addHandler(writer, position: .first)
            try operations.addHandler(WebSocketSession(live: live, eventLoop: loop, writer: writer, headerToken: nil))
        }
        return channel
    }

    /// One client: the bytes in reads of `chunk` bytes, a peer that never
    /// reads, then 12 s of virtual time (ticks, auth and close timeouts) and the end.
    func run(_ bytes: [UInt8], chunk: Int) async {
        let channel = try! await connection()
        var offset = 0
        while offset < bytes.count, await channel.isActive {
            let end = min(offset + chunk, bytes.count)
            do {
                try await channel.writeInbound(ByteBuffer(bytes: bytes[offset..<end]))
            } catch {
                _ = "\(error)"
            }
            offset = end
            await loop.run()
        }
        // An `auth` op's token check runs in a task: let it come back.
        try? await Task.sleep(for: .milliseconds(1))
        await loop.run()
        while let frame = try? await channel.readOutbound(as: ByteBuffer.self) { _ = frame.readableBytes }
        await loop.advanceTime(by: .seconds(12))
        _ = try? await channel.finish(acceptAlreadyClosed: true)
        await loop.run()
    }
}

private let node = Node()

/// libFuzzer entry point: a client's bytes after the upgrade, through the
/// server's WebSocket pipeline (frame decoder, fragment aggregator, frame
/// writer, session). The first byte picks the read size (1–256 bytes).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocket(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let chunk = Int(data[0]) + 1
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let done = DispatchSemaphore(value: 0)
    Task {
        await node.run(bytes, chunk: chunk)
        done.signal()
    }
    done.wait()
    return 0
}
