import Histogram
import NIOCore
import NIOPosix
import SwitchboardProtocol

/// One bench connection: does the HTTP upgrade itself (no NIOHTTP1 or
/// NIOWebSocket handlers in its pipeline, no task), then parses frames
/// straight from the read buffer (`BenchFrame`, `Needle`) and records into
/// its loop's `LoopState`. It sends a `ping` op right after the upgrade: the
/// reply comes once authentication finished (ops queue behind it), which
/// marks it ready.
///
/// Not `WebSocketConnection` of SwitchboardClient on purpose: that one hands
/// frames to an `AsyncStream` (a task per connection), which would cost the
/// generator more than the nodes it measures on the same cores.
final class BenchClient: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Phase { case handshake, authenticating, ready, closed }

    let state: LoopState
    private let request: String
    private let sendPrefix: [UInt8]
    private let peers: Int
    private let room: Int
    private let ready: EventLoopPromise<Void>
    private let started: UInt64
    private var phase = Phase.handshake
    private var context: ChannelHandlerContext?
    private var pending: ByteBuffer?
    private var lastSeq: UInt64 = 0
    private var nextID = 1
    private var closedByBench = false
    private var readyDone = false

    var isReady: Bool { phase == .ready }

    init(state: LoopState, request: String, conversation: String?, room: Int, peers: Int, ready: EventLoopPromise<Void>, started: UInt64) {
        self.state = state
        self.room = room
        self.request = request
        self.sendPrefix = conversation.map { Array(#"{"op":"\#(ClientOp.send.rawValue)","conv":"\#($0)","text":"t="#.utf8) } ?? []
        self.peers = peers
        self.ready = ready
        self.started = started
    }

    /// Connects, upgrades with the bearer token and waits for the first op's
    /// reply. `room` is the conversation's index (-1: none), `peers` the
    /// number of its other members.
    static func connect(endpoint: Endpoint, token: String, conversation: String?, room: Int, peers: Int, state: LoopState) -> EventLoopFuture<Void> {
        let loop = state.loop
        let ready = loop.makePromise(of: Void.self)
        let request =
            "GET /ws HTTP/1.1\r\nHost: \(endpoint.host):\(endpoint.port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: c3dpdGNoYm9hcmQtYmVuY2g=\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer \(token)\r\n\r\n"
        let started = monotonicMicros()
        ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        BenchClient(
                            state: state, request: request, conversation: conversation, room: room, peers: peers, ready: ready, started: started))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .whenFailure { ready.fail($0) }
        return ready.futureResult
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .seconds(30)) {
            let client = bound.value
            if !client.readyDone {
                client.failReady("not ready after 30 s")
                client.context?.close(promise: nil)
            }
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if phase == .ready, !closedByBench { state.measured.dropped += 1 }
        phase = .closed
        failReady("connection closed")
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failReady("connection closed")
        self.context = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failReady("\(error)")
        context.close(promise: nil)
    }

    private func failReady(_ reason: String) {
        guard !readyDone else { return }
        readyDone = true
        ready.fail(BenchError(reason))
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        var buffer: ByteBuffer
        if var held = pending.take() {
            held.writeBuffer(&incoming)
            buffer = held
        } else {
            buffer = incoming
        }
        let now = monotonicMicros()
        if phase == .handshake {
            guard handshake(&buffer, context: context) else {
                if buffer.readableBytes > 0, phase == .handshake { pending = buffer }
                return
            }
        }
        var closeCode: Int?
        let consumed = buffer.withUnsafeReadableBytes { frames(in: $0, now: now, context: context, close: &closeCode) }
        buffer.moveReaderIndex(forwardBy: consumed)
        if buffer.readableBytes > 0 {
            buffer.discardReadBytes()
            pending = buffer
        }
        context.flush()
        if let closeCode {
            state.measured.closeCodes[closeCode, default: 0] += 1
            if phase != .ready { failReady("closed by the server with \(closeCode)") }
            if phase == .ready, !closedByBench { state.measured.dropped += 1 }
            phase = .closed
            context.close(promise: nil)
        }
    }

    /// Reads the upgrade answer; true once it is complete and was a 101.
    private func handshake(_ buffer: inout ByteBuffer, context: ChannelHandlerContext) -> Bool {
        let end = buffer.withUnsafeReadableBytes { find(Needle.headerEnd, in: $0, from: 0) }
        guard let end else { return false }
        let head = buffer.readString(length: end + 4) ?? ""
        guard head.hasPrefix("HTTP/1.1 101") else {
            let line = head.split(separator: "\r\n").first.map(String.init) ?? head
            failReady("upgrade refused: \(line)")
            phase = .closed
            context.close(promise: nil)
            return false
        }
        phase = .authenticating
        writeText(Array(#"{"id":0,"op":"\#(ClientOp.ping.rawValue)"}"#.utf8), context: context)
        return true
    }

    /// Handles every complete frame up to a close; returns the bytes consumed.
    private func frames(in bytes: UnsafeRawBufferPointer, now: UInt64, context: ChannelHandlerContext, close: inout Int?) -> Int {
        BenchFrame.forEach(in: bytes) { opcode, final, payload in
            switch opcode {
            case BenchFrame.text:
                if !final { state.measured.noteError("fragmented text frame (not expected from the server)") }
                text(payload, now: now)
            case BenchFrame.close:
                close = payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : Int(CloseCode.noStatus.rawValue)
                return false
            case BenchFrame.ping:
                writeFrame(opcode: BenchFrame.pong, payload: payload, context: context)
            default:
                break
            }
            return true
        }
    }

    /// One text frame: a delivery, a reply to an op, or anything else.
    private func text(_ payload: UnsafeRawBufferPointer, now: UInt64) {
        switch BenchEvent.parse(payload) {
        case .message(let seq, let sent):
            state.measured.counters.delivered += 1
            if room >= 0 { state.measured.countDelivery(room: room, seq: seq) }
            if seq <= lastSeq { state.measured.counters.duplicates += 1 } else { lastSeq = seq }
            if sent >= state.warmupEnd, sent < state.sendEnd { _ = state.measured.latency.record(max(1, now &- sent)) }
        case .reply(0, let ok, _, _):
            // The first op's reply: authenticated and subscribed.
            guard ok else { return failReady("ping refused: " + String(decoding: payload.prefix(200), as: UTF8.self)) }
            phase = .ready
            readyDone = true
            state.clients.append(self)
            _ = state.measured.connectLatency.record(max(1, now &- started))
            ready.succeed()
        case .reply(_, false, _, _):
            state.measured.counters.sendErrors += 1
            state.measured.noteError(String(decoding: payload, as: UTF8.self))
        case .reply(_, true, let seq, let sent):
            state.measured.counters.acked += 1
            state.measured.counters.expected += peers
            if room >= 0, let seq { state.measured.countAck(room: room, seq: seq) }
            if let sent, sent >= state.warmupEnd, sent < state.sendEnd { _ = state.measured.ackLatency.record(max(1, now &- sent)) }
        case .other:
            state.measured.otherEvents += 1
        }
    }

    // MARK: Writing

    /// `{"op":"send","conv":C,"text":"t=<now>","id":N}`.
    func sendMessage(now: UInt64) {
        guard phase == .ready, let context else { return }
        let id = nextID
        nextID += 1
        var payload = sendPrefix
        payload.reserveCapacity(sendPrefix.count + 40)
        appendDigits(now, to: &payload)
        payload.append(contentsOf: #"","id":"#.utf8)
        appendDigits(UInt64(id), to: &payload)
        payload.append(UInt8(ascii: "}"))
        writeText(payload, context: context)
        context.flush()
    }

    private func writeText(_ payload: [UInt8], context: ChannelHandlerContext) {
        payload.withUnsafeBytes { writeFrame(opcode: BenchFrame.text, payload: $0, context: context) }
        context.flush()
    }

    private func writeFrame(opcode: UInt8, payload: UnsafeRawBufferPointer, context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(BenchFrame.encode(opcode: opcode, payload: payload, allocator: context.channel.allocator)), promise: nil)
    }

    /// Sends a close frame (1000) and closes the socket 300 ms later.
    func closeFromBench() {
        guard let context, phase != .closed else { return }
        closedByBench = true
        phase = .closed
        let code = CloseCode.normal.rawValue
        [UInt8(code >> 8), UInt8(code & 0xFF)].withUnsafeBytes { writeFrame(opcode: BenchFrame.close, payload: $0, context: context) }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .milliseconds(300)) { channel.close(promise: nil) }
    }
}
