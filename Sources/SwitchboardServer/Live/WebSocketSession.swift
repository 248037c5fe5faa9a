import Foundation
import Logging
import NIOCore
import NIOWebSocket
import SwitchboardCore

/// One WebSocket connection: a state machine on its channel's event loop.
///
/// Inbound frames drive it; ops run one at a time in the order sent;
/// outbound frames are pre-encoded bytes written directly while the socket
/// is writable and queued (bounded) while it is not. Cleanup happens once,
/// on `channelInactive`.
final class WebSocketSession: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let live: LiveContext
    let connectionID: String
    let eventLoop: any EventLoop
    private(set) var context: ChannelHandlerContext?
    /// Writes the frames this session encodes (the first handler of the channel).
    private let writer: FrameWriter
    /// The upgrade's bearer token, until it has been verified (then dropped: idle connections keep nothing).
    private var headerToken: String?
    /// A logger with this connection's ids, made when something is logged
    /// (not kept per connection: idle connections are the common case).
    var logger: Logger {
        var logger = live.logger
        logger[metadataKey: "conn"] = .string(connectionID)
        if let userID { logger[metadataKey: "user"] = .string(userID) }
        return logger
    }

    // Authentication
    private(set) var userID: String?
    var tokenExpiry: Int = 0
    private var authDeadline: NIODeadline
    var authenticating = false

    // Ops, one at a time
    /// Allocated while commands wait (idle connections hold no buffer).
    private var pendingOps: CircularBuffer<ClientCommand>?
    var runningOp = false

    // Outbound
    private var outbound: OutboundQueue
    private var needsFlush = false
    private(set) var closing = false
    private var cleanedUp = false

    // Liveness
    private var lastPing: NIODeadline?
    private var awaitingPong = false
    private var lastInbound = NIODeadline.now()

    // Membership and replay
    var conversations: Set<String> = []
    var watching: Set<String> = []
    var replaying: [String: [(ByteBuffer, Int?)]] = [:]
    var watermarks: [String: Int] = [:]
    var typingSent: [String: NIODeadline] = [:]
    /// Right after authentication, live events wait for the client's first
    /// command: when it is `resume`, they merge into the replay in seq order.
    var holding = false
    var held: [(conversation: String?, frame: ByteBuffer, seq: Int?)] = []
    var refusedSends = 0

    init(live: LiveContext, eventLoop: any EventLoop, writer: FrameWriter, headerToken: String?) {
        self.live = live
        self.writer = writer
        self.eventLoop = eventLoop
        self.headerToken = headerToken
        self.connectionID = live.makeConnectionID()
        let configuration = live.configuration
        self.outbound = OutboundQueue(maxFrames: configuration.outboundMaxFrames, maxBytes: configuration.outboundMaxBytes)
        self.authDeadline = .now() + .milliseconds(Int64(configuration.authTimeout * 1000))
    }

    var hub: FanoutHub { live.hub }
    var loopHub: LoopHub { live.hub.loopHub(for: eventLoop) }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        loopHub.add(self)
        live.connectionsGauge.record(live.openConnections.wrappingAdd(1, ordering: .relaxed).newValue)
        if live.draining.load(ordering: .relaxed) {
            close(code: 1001, reason: "node shutting down")
            return
        }
        if let headerToken {
            self.headerToken = nil
            // Commands sent right after the upgrade wait behind this, in order.
            runningOp = true
            let bound = NIOLoopBound(self, eventLoop: eventLoop)
            authenticate(token: headerToken, reply: nil).whenComplete { _ in
                bound.value.runningOp = false
                bound.value.runNextOp()
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        cleanUp()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cleanUp()
        self.context = nil
    }

    private func cleanUp() {
        guard !cleanedUp else { return }
        cleanedUp = true
        closing = true
        outbound.removeAll()
        replaying = [:]
        held = []
        loopHub.remove(self)
        live.connectionsGauge.record(live.openConnections.wrappingSubtract(1, ordering: .relaxed).newValue)
        let keys = live.switchboard.keys
        var channels = conversations.map(keys.conversationChannel) + watching.map(keys.presenceChannel)
        if let userID {
            channels.append(keys.userChannel(userID))
            let presence = live.switchboard.presence
            let member = connectionID
            Task { try? await presence.disconnect(user: userID, member: member) }
        }
        hub.release(channels)
        conversations = []
        watching = []
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        lastInbound = .now()
        switch frame.opcode {
        case .text:
            var data = frame.unmaskedData
            let bytes = data.readBytes(length: data.readableBytes) ?? []
            guard String(validating: bytes, as: UTF8.self) != nil else {
                close(code: 1007, reason: "invalid UTF-8")
                return
            }
            receive(bytes)
        case .binary:
            close(code: 1003, reason: "binary frames are not supported")
        case .ping:
            guard !closing else { return }
            writer.write(ServerFrame.frame(.pong, payload: frame.unmaskedData))
            writer.flush()
        case .pong:
            awaitingPong = false
        case .connectionClose:
            // The peer's answer to our close: the handshake is complete.
            if closing {
                context.close(promise: nil)
                return
            }
            // Echo the close (RFC 6455 §5.5.1) and end the connection.
            var data = frame.unmaskedData
            let code = data.readInteger(as: UInt16.self) ?? 1000
            close(code: code == 1005 || code == 1006 ? 1000 : code, reason: "", answering: true)
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case NIOWebSocketError.invalidFrameLength:
            close(code: 1009, reason: "message too large")
        case NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge,
            NIOWebSocketFrameAggregator.Error.tooManyFragments:
            close(code: 1009, reason: "message too large")
        case is NIOWebSocketError, is NIOWebSocketFrameAggregator.Error:
            close(code: 1002, reason: "protocol error")
        default:
            logger.debug("connection error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        guard context.channel.isWritable else { return }
        while context.channel.isWritable, let frame = outbound.popFirst() {
            writer.write(frame)
        }
        writer.flush()
        context.fireChannelWritabilityChanged()
    }

    // MARK: Inbound commands

    private func receive(_ bytes: [UInt8]) {
        guard !closing else { return }
        switch ClientCommand.parse(bytes) {
        case .failure(.unreadable(let message)):
            let error = SwitchboardError.invalid(message)
            write(ServerFrame.text(#"{"ev":"error","error":"# + Self.errorJSON(error) + "}"), flush: true)
        case .success(let command):
            guard (pendingOps?.count ?? 0) < 1000 else {
                close(code: 4029, reason: "too many commands in flight")
                return
            }
            if pendingOps == nil { pendingOps = CircularBuffer(initialCapacity: 2) }
            pendingOps!.append(command)
            runNextOp()
        }
    }

    func runNextOp() {
        guard !runningOp, !closing, let command = pendingOps?.popFirst() else { return }
        if pendingOps?.isEmpty == true { pendingOps = nil }
        runningOp = true
        if holding, command.op != "auth", command.op != "resume" { releaseHeld(into: []) }
        let future = dispatch(command)
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        future.hop(to: eventLoop).whenComplete { result in
            let session = bound.value
            switch result {
            case .success(let fields):
                session.reply(command, fields: fields)
            case .failure(let error):
                session.reply(command, error: error as? SwitchboardError ?? SwitchboardError(redis: error))
            }
            session.runningOp = false
            session.runNextOp()
        }
    }

    /// `{"re":id,"ok":true,<fields>}`; `fields` is JSON object members without braces.
    func reply(_ command: ClientCommand, fields: String) {
        let text = fields.isEmpty
            ? #"{"re":"# + command.idJSON + #","ok":true}"#
            : #"{"re":"# + command.idJSON + #","ok":true,"# + fields + "}"
        write(ServerFrame.text(text), flush: true)
    }

    func reply(_ command: ClientCommand, error: SwitchboardError) {
        if error.code == .internalError { logger.error("op failed", metadata: ["op": "\(command.op ?? "")", "error": "\(error)"]) }
        write(ServerFrame.text(#"{"re":"# + command.idJSON + #","ok":false,"error":"# + Self.errorJSON(error) + "}"), flush: true)
    }

    static func errorJSON(_ error: SwitchboardError) -> String {
        #"{"code":"# + JSONText.quote(error.code.rawValue) + #","message":"# + JSONText.quote(error.message) + "}"
    }

    // MARK: Outbound

    /// Writes an encoded frame (`ServerFrame`) now, or queues it while the
    /// socket is full; an overflowing queue closes the connection with 4008.
    /// A broadcast's frame buffer is shared by every recipient.
    func write(_ frame: ByteBuffer, flush: Bool) {
        guard !closing, let context else { return }
        if outbound.isEmpty, context.channel.isWritable {
            writer.write(frame)
            if flush { writer.flush() } else { needsFlush = true }
            return
        }
        if !outbound.append(frame) {
            live.overflowCloses.increment()
            logger.info("slow consumer: outbound queue overflowed")
            outbound.removeAll()
            close(code: 4008, reason: "slow consumer")
        }
    }

    func flushIfNeeded() {
        guard needsFlush else { return }
        needsFlush = false
        writer.flush()
    }

    /// A live event for this connection (from the hub, on this loop).
    func deliver(_ frame: ByteBuffer, conversation: String?, seq: Int?) {
        guard userID != nil, !closing else { return }
        if holding {
            held.append((conversation, frame, seq))
            if held.count > live.configuration.outboundMaxFrames { releaseHeld(into: []) }
            return
        }
        // (Per recipient per message: skip the hashing when nothing is being replayed.)
        if let conversation, !replaying.isEmpty || !watermarks.isEmpty {
            if replaying[conversation] != nil {
                replaying[conversation]!.append((frame, seq))
                return
            }
            if let seq, let mark = watermarks[conversation] {
                if seq <= mark { return }
                watermarks[conversation] = nil
            }
        }
        write(frame, flush: false)
    }

    /// Ends the hold after authentication: events of `resumed`
    /// conversations join their replay buffers, the others go out now.
    func releaseHeld(into resumed: Set<String>) {
        guard holding else { return }
        holding = false
        let events = held
        held = []
        for event in events {
            if let conversation = event.conversation, resumed.contains(conversation), replaying[conversation] != nil {
                replaying[conversation]!.append((event.frame, event.seq))
            } else {
                deliver(event.frame, conversation: event.conversation, seq: event.seq)
            }
        }
        flushIfNeeded()
    }

    /// Sends a close frame and closes the connection (once); `answering`
    /// the peer's close, at once after the frame left.
    func close(code: UInt16, reason: String, answering: Bool = false) {
        guard !closing, let context else { return }
        closing = true
        outbound.removeAll()
        var payload = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        payload.writeInteger(code)
        payload.writeString(String(decoding: reason.utf8.prefix(123), as: UTF8.self))
        let channel = context.channel
        let written = channel.eventLoop.makePromise(of: Void.self)
        writer.write(ServerFrame.frame(.connectionClose, payload: payload), promise: written)
        writer.flush()
        // The socket closes when the peer answers with its close frame (so it
        // has read ours before it sees the end of the stream), or a second
        // after ours left, whichever comes first.
        written.futureResult.whenComplete { result in
            guard case .success = result, !answering else {
                channel.close(promise: nil)
                return
            }
            channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
        }
        // A peer that stopped reading never takes the close frame: drop it anyway.
        channel.eventLoop.scheduleTask(in: .milliseconds(Int64(live.configuration.closeTimeout * 1000))) {
            channel.close(promise: nil)
        }
    }

    // MARK: Housekeeping (once a second, from the loop hub)

    private static let pingFrame = ServerFrame.frame(.ping, payload: ByteBuffer())

    func tick(now: NIODeadline) {
        guard !closing else { return }
        let configuration = live.configuration
        if userID == nil {
            if now > authDeadline, !authenticating { close(code: 4001, reason: "no authentication in time") }
            return
        }
        if tokenExpiry > 0, live.switchboard.clock.seconds > tokenExpiry {
            close(code: 4009, reason: "token expired")
            return
        }
        let interval = TimeAmount.milliseconds(Int64(configuration.pingInterval * 1000))
        if awaitingPong, let lastPing, now - lastPing > TimeAmount.milliseconds(Int64(configuration.pongTimeout * 1000)) {
            logger.debug("no pong in time")
            context?.close(promise: nil)
            return
        }
        if !awaitingPong, now - max(lastInbound, lastPing ?? lastInbound) > interval {
            lastPing = now
            awaitingPong = true
            writer.write(Self.pingFrame)
            writer.flush()
        }
    }

    // MARK: Membership

    /// Becomes a receiver of a conversation's live events (added while
    /// connected: out of the conversation's offline set, too). Answers when
    /// the node's subscription to the conversation is live (nil: nothing to join).
    @discardableResult
    func joinConversation(_ conversation: String, channel: String, hub: FanoutHub) -> EventLoopFuture<Void>? {
        guard let userID, !closing, !conversations.contains(conversation) else { return nil }
        conversations.insert(conversation)
        loopHub.join(self, conversation: conversation)
        let subscribed = hub.retain([channel])
        _ = live.switchboard.presence.joined(user: userID, conversation: conversation)
        return subscribed
    }

    /// Stops receiving a conversation's live events.
    func leaveConversation(_ conversation: String, channel: String, hub: FanoutHub) {
        guard conversations.remove(conversation) != nil else { return }
        loopHub.leave(self, conversation: conversation)
        replaying[conversation] = nil
        watermarks[conversation] = nil
        hub.release([channel])
    }

    /// Marks the session authenticated and registers it for its user's and
    /// conversations' events; completes once the subscriptions are active.
    func becomeAuthenticated(user: String, expiry: Int, conversations ids: [String]) -> EventLoopFuture<Void> {
        userID = user
        tokenExpiry = expiry
        guard !closing else { return eventLoop.makeSucceededVoidFuture() }
        // Hold live events until the first command (at most a second).
        holding = true
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.scheduleTask(in: .seconds(1)) { bound.value.releaseHeld(into: []) }
        let keys = live.switchboard.keys
        loopHub.addUser(self, user: user)
        var channels = [keys.userChannel(user)]
        for id in ids where !conversations.contains(id) {
            conversations.insert(id)
            loopHub.join(self, conversation: id)
            channels.append(keys.conversationChannel(id))
        }
        return hub.retain(channels).hop(to: eventLoop)
    }

    /// Starts or stops forwarding presence events of users; completes once subscribed.
    @discardableResult
    func watch(_ users: [String], on: Bool) -> EventLoopFuture<Void> {
        let keys = live.switchboard.keys
        var changed: [String] = []
        for user in users {
            if on, !watching.contains(user) {
                watching.insert(user)
                loopHub.watch(self, user: user)
                changed.append(keys.presenceChannel(user))
            } else if !on, watching.remove(user) != nil {
                loopHub.unwatch(self, user: user)
                changed.append(keys.presenceChannel(user))
            }
        }
        if on { return hub.retain(changed).hop(to: eventLoop) }
        hub.release(changed)
        return eventLoop.makeSucceededVoidFuture()
    }

    /// Pushes the notifications stored while the user was offline.
    func pushNotifications(user: String) {
        let notifications = live.switchboard.notifications
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let pending = task { try await notifications.takeUnpushed(user: user) }
        pending.whenSuccess { items in
            for item in items {
                bound.value.write(ServerFrame.text(#"{"ev":"notification","notification":"# + JSONText.encode(item) + "}"), flush: false)
            }
            bound.value.flushIfNeeded()
        }
    }
}
