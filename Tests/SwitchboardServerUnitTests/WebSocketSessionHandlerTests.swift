import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import RedisClient
import SwitchboardCore
import Synchronization
import Testing

@testable import SwitchboardServer

/// The session as a NIO handler on an `EmbeddedChannel`: frames in, frames
/// out, virtual time. No redis-server: the `Switchboard`'s client points at
/// a port nothing listens on, and nothing here makes it connect (connections
/// open lazily, on the first command, and no test gets that far).
@Suite("WebSocket session handler")
struct WebSocketSessionHandlerTests {
    /// A session on an embedded channel, as `SwitchboardChannel` sets it up after the upgrade.
    struct Harness {
        let loop = EmbeddedEventLoop()
        let channel: EmbeddedChannel
        let live: LiveContext
        let session: WebSocketSession

        init(_ configure: (inout LiveConfiguration) -> Void = { _ in }) throws {
            var configuration = SwitchboardConfiguration()
            configuration.redisURL = "redis://127.0.0.1:1"
            configure(&configuration.live)
            let logger = Logger(label: "test")
            let redis = RedisClient(configuration: try RedisConfiguration(url: configuration.redisURL!), eventLoopGroup: loop)
            let switchboard = Switchboard(configuration: configuration, redis: redis, logger: logger)
            let background = BackgroundWork(logger: logger)
            let hub = try FanoutHub(switchboard: switchboard, eventLoopGroup: loop, background: background, logger: logger)
            live = LiveContext(switchboard: switchboard, hub: hub, background: background, logger: logger)
            channel = EmbeddedChannel(loop: loop)
            let writer = FrameWriter(maxFrames: configuration.live.outboundMaxFrames, maxBytes: configuration.live.outboundMaxBytes)
            session = WebSocketSession(live: live, eventLoop: loop, writer: writer, headerToken: nil)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
            try channel.pipeline.syncOperations.addHandler(writer, position: .first)
            try channel.pipeline.syncOperations.addHandler(session)
            hub.loopHub(for: loop).startTimer()
        }

        func send(_ frame: WebSocketFrame) throws {
            try channel.writeInbound(frame)
        }

        /// The next frame the session wrote: opcode and payload.
        func read() throws -> (opcode: WebSocketOpcode, payload: ByteBuffer)? {
            guard let frame = try channel.readOutbound(as: ByteBuffer.self) else { return nil }
            let opcode = WebSocketOpcode(encodedWebSocketOpcode: frame.getInteger(at: frame.readerIndex, as: UInt8.self)! & 0x0F)!
            return (opcode, ServerFrame.payload(of: frame))
        }

        /// The next frame, which must be a close frame: its code and reason.
        func readClose() throws -> (code: UInt16, reason: String)? {
            guard var (opcode, payload) = try read(), opcode == .connectionClose else { return nil }
            return (payload.readInteger(as: UInt16.self) ?? 0, payload.readString(length: payload.readableBytes) ?? "")
        }

        /// The next frame, which must be a text frame.
        func readText() throws -> String? {
            guard let (opcode, payload) = try read(), opcode == .text else { return nil }
            return String(buffer: payload)
        }

        func stop() {
            live.hub.loopHub(for: loop).stopTimer()
        }
    }

    @Test func noAuthenticationInTimeClosesWith4001() throws {
        let harness = try Harness { $0.authTimeout = 5 }
        defer { harness.stop() }
        harness.loop.advanceTime(by: .seconds(5))
        #expect(try harness.read() == nil)
        harness.loop.advanceTime(by: .seconds(1))
        let close = try harness.readClose()
        #expect(close?.code == 4001)
        #expect(close?.reason == "no authentication in time")
        #expect(harness.channel.isActive)  // waiting for the peer's close
        harness.loop.advanceTime(by: .seconds(1))
        #expect(!harness.channel.isActive)
        #expect(harness.live.openConnections.load(ordering: .relaxed) == 0)
    }

    @Test func anOpBeforeAuthIsAnsweredUnauthorizedAndTheConnectionStays() throws {
        let harness = try Harness()
        defer { harness.stop() }
        try harness.send(text(#"{"id":1,"op":"send","conv":"c1","text":"hi"}"#))
        let reply = try harness.readText()
        #expect(reply?.hasPrefix(#"{"re":1,"ok":false,"error":{"code":"unauthorized""#) == true)
        try harness.send(text(#"{"id":"two","op":"nope"}"#))
        #expect(try harness.readText()?.hasPrefix(#"{"re":"two","ok":false,"error":{"code":"unknown_op""#) == true)
        try harness.send(text("not json"))
        #expect(try harness.readText()?.hasPrefix(#"{"ev":"error","error":{"code":"invalid_request""#) == true)
        #expect(try harness.read() == nil)
        #expect(harness.channel.isActive)
    }

    @Test func aPingIsAnsweredWithAPong() throws {
        let harness = try Harness()
        defer { harness.stop() }
        try harness.send(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: "hello")))
        let pong = try harness.read()
        #expect(pong?.opcode == .pong)
        #expect(pong.map { String(buffer: $0.payload) } == "hello")
    }

    @Test func thePeersCloseIsEchoedAndTheSocketClosesOnceItLeft() throws {
        let harness = try Harness()
        defer { harness.stop() }
        try harness.send(closeFrame(4000))
        #expect(try harness.readClose()?.code == 4000)
        harness.loop.run()
        #expect(!harness.channel.isActive)
        #expect(harness.live.openConnections.load(ordering: .relaxed) == 0)
    }

    @Test func aCloseWithoutCodeIsAnsweredWith1000() throws {
        let harness = try Harness()
        defer { harness.stop() }
        try harness.send(closeFrame(nil))
        #expect(try harness.readClose()?.code == 1000)
    }

    @Test func ourCloseEndsWhenThePeerAnswers() throws {
        let harness = try Harness()
        defer { harness.stop() }
        harness.session.close(code: .goingAway, reason: "node shutting down")
        #expect(try harness.readClose()?.code == 1001)
        #expect(harness.channel.isActive)
        try harness.send(closeFrame(1001))
        #expect(!harness.channel.isActive)
        #expect(try harness.read() == nil)  // no second close frame
    }

    @Test func aBinaryFrameClosesWith1003() throws {
        let harness = try Harness()
        defer { harness.stop() }
        try harness.send(WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(bytes: [1, 2])))
        #expect(try harness.readClose()?.code == 1003)
    }

    @Test func framesWaitWhileTheSocketIsFullAndGoOutWhenItDrains() throws {
        let harness = try Harness { $0.outboundMaxFrames = 4 }
        defer { harness.stop() }
        harness.channel.isWritable = false
        try harness.send(text(#"{"id":1,"op":"ping"}"#))
        try harness.send(text(#"{"id":2,"op":"ping"}"#))
        #expect(try harness.read() == nil)
        harness.channel.isWritable = true
        harness.channel.pipeline.fireChannelWritabilityChanged()
        #expect(try harness.readText()?.hasPrefix(#"{"re":1,"#) == true)
        #expect(try harness.readText()?.hasPrefix(#"{"re":2,"#) == true)
    }

    @Test func anOverflowingOutboundQueueClosesWith4008() throws {
        let harness = try Harness { $0.outboundMaxFrames = 3 }
        defer { harness.stop() }
        harness.channel.isWritable = false
        for id in 1...4 { try harness.send(text(#"{"id":\#(id),"op":"ping"}"#)) }
        let close = try harness.readClose()
        #expect(close?.code == 4008)
        #expect(close?.reason == "slow consumer")
        #expect(try harness.read() == nil)  // the queued replies were dropped
        harness.channel.isWritable = true
        harness.channel.pipeline.fireChannelWritabilityChanged()
        #expect(try harness.read() == nil)
    }

    @Test func aPeerThatNeverAnswersOurCloseIsCutOff() throws {
        let harness = try Harness()
        defer { harness.stop() }
        harness.session.close(code: .normal, reason: "")
        #expect(try harness.readClose()?.code == 1000)
        harness.loop.advanceTime(by: .milliseconds(999))
        #expect(harness.channel.isActive)
        harness.loop.advanceTime(by: .milliseconds(1))
        #expect(!harness.channel.isActive)
    }
}
