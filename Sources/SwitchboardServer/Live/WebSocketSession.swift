import CoreMetrics
import Logging
import NIOCore
import NIOWebSocket
import SwitchboardCore
import Synchronization

/// One WebSocket connection, on its channel's event loop.
///
/// A `WebSocketSessionStateMachine` decides (phase, op queue, liveness,
/// close handshake, hold after auth); this handler feeds it the channel's
/// events and performs the actions it returns. Ops run one at a time in the
/// order sent; outbound frames are pre-encoded bytes that the `FrameWriter`
/// writes directly while the socket is writable and queues (bounded) while
/// it is not. Cleanup happens once, on `channelInactive`.
final class WebSocketSession: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame
    typealias StateMachine = WebSocketSessionStateMachine

    let live: LiveContext
    let connectionID: String
    let eventLoop: any EventLoop
    private var context: ChannelHandlerContext?
    /// Writes and queues the frames this session encodes (the first handler of the channel).
    private let writer: FrameWriter
    /// The upgrade's bearer token, until it has been verified (then dropped: idle connections keep nothing).
    private var headerToken: String?
    private var machine: StateMachine

    /// Conversations whose live events this connection receives.
    private(set) var conversations: Set<String> = []
    /// Users whose presence events this connection receives.
    private(set) var watching: Set<String> = []
    /// Live events buffered per conversation while `resume` replays it.
    private var replaying: [String: [(ByteBuffer, Int?)]] = [:]
    /// Per conversation, the last seq `resume` wrote: live events up to it are duplicates.
    private var watermarks: [String: Int] = [:]
    /// When this connection last published `typing` per conversation (kept by the `typing` op).
    var typingSent: [String: NIODeadline] = [:]
    /// Sends refused in a row by the rate limit (kept by the `send` op).
    var refusedSends = 0
    /// Whether `register` subscribed the user's channel (not for a connection over the cap).
    private var registered = false

    /// The upgrade URL announced a `resume` (`resume=1`).
    private let resumeAnnounced: Bool

    init(live: LiveContext, eventLoop: any EventLoop, writer: FrameWriter, headerToken: String?, resumeAnnounced: Bool = false) {
        self.live = live
        self.resumeAnnounced = resumeAnnounced
        self.writer = writer
        self.eventLoop = eventLoop
        self.headerToken = headerToken
        self.connectionID = live.makeConnectionID()
        self.machine = StateMachine(configuration: .init(live.configuration), now: eventLoop.now)
    }

    /// The authenticated user, if any.
    var userID: String? { machine.userID }
    /// Whether the connection is closing (or closed): nothing more goes out.
    var isClosing: Bool { machine.isClosing }

    var hub: FanoutHub { live.hub }
    var loopHub: LoopHub { live.hub.loopHub(for: eventLoop) }

    /// A logger with this connection's ids, made when something is logged
    /// (not kept per connection: idle connections are the common case).
    var logger: Logger {
        var logger = live.logger
        logger[metadataKey: "conn"] = .string(connectionID)
        if let userID { logger[metadataKey: "user"] = .string(userID) }
        return logger
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        loopHub.add(self)
        live.connectionsGauge.record(live.openConnections.wrappingAdd(1, ordering: .relaxed).newValue)
        perform(
            machine.connected(
                headerToken: headerToken != nil, resumeAnnounced: resumeAnnounced, draining: live.draining.load(ordering: .relaxed)))
    }

    func channelInactive(context: ChannelHandlerContext) {
        perform(machine.channelInactive())
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        perform(machine.channelInactive())
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(machine.frameReceived(unwrapInboundIn(data), now: eventLoop.now))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case NIOWebSocketError.invalidFrameLength:
            close(code: .messageTooLarge, reason: "message too large")
        case NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge,
            NIOWebSocketFrameAggregator.Error.tooManyFragments:
            close(code: .messageTooLarge, reason: "message too large")
        case is NIOWebSocketError, is NIOWebSocketFrameAggregator.Error:
            close(code: .protocolError, reason: "protocol error")
        default:
            logger.debug("connection error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    /// Housekeeping, once a second from the loop hub: auth deadline, token expiry, pings.
    func tick(now: NIODeadline) {
        let action = machine.tick(now: now, epochSeconds: self.live.switchboard.clock.seconds)
        if case .closeChannel = action { logger.debug("no pong in time") }
        perform(action)
    }

    /// Sends a close frame and closes the connection (once).
    func close(code: CloseCode, reason: String) {
        perform(machine.closeRequested(code, reason: reason))
    }

    // MARK: Actions

    private static let pingFrame = ServerFrame.frame(.ping, payload: ByteBuffer())

    private func perform(_ action: StateMachine.Action) {
        var action = action
        while true {
            switch action {
            case .none:
                return
            case .sendError(let error):
                write(ServerFrame.text(#"{"ev":"error","error":"# + Self.errorJSON(error) + "}"), flush: true)
                return
            case .sendPong(let payload):
                // Through the bounded queue like any frame (reads stop while it is not empty).
                write(ServerFrame.frame(.pong, payload: payload), flush: true)
                return
            case .sendPing:
                write(Self.pingFrame, flush: true)
                return
            case .authenticateHeaderToken:
                guard let token = headerToken else { return }
                headerToken = nil
                // Commands sent right after the upgrade wait behind this, in order.
                let bound = NIOLoopBound(self, eventLoop: eventLoop)
                authenticate(token: token, reply: nil).whenComplete { _ in
                    let session = bound.value
                    session.perform(session.machine.opFinished())
                }
                return
            case .runOp(let command, let held):
                if !held.isEmpty { deliverHeld(held, resumed: []) }
                run(command)
                return
            case .rejectOp(let command, let error):
                live.opCounter(command.op?.rawValue ?? "unknown").increment()
                reply(command, error: error)
                action = machine.opFinished()
            case .deliverHeld(let events):
                deliverHeld(events, resumed: [])
                return
            case .sendClose(let code, let reason, let closeWhenWritten):
                sendClose(code: code, reason: reason, closeWhenWritten: closeWhenWritten)
                return
            case .closeChannel:
                context?.close(promise: nil)
                return
            case .cleanUp(let user):
                cleanUp(userID: user)
                return
            }
        }
    }

    /// Runs one command; the next starts once its reply is written.
    private func run(_ command: ClientCommand) {
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
            session.perform(session.machine.opFinished())
        }
    }

    /// Writes the close frame. The socket closes when the peer answers with
    /// its close frame (so it has read ours before it sees the end of the
    /// stream), or a second after ours left; an echo closes it as soon as it left.
    private func sendClose(code: CloseCode, reason: String, closeWhenWritten: Bool) {
        writer.dropQueued()
        guard let context else { return }
        var payload = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        payload.writeInteger(code.rawValue)
        payload.writeString(String(decoding: reason.utf8.prefix(123), as: UTF8.self))
        let channel = context.channel
        let written = channel.eventLoop.makePromise(of: Void.self)
        writer.write(ServerFrame.frame(.connectionClose, payload: payload), promise: written)
        writer.flush()
        written.futureResult.whenComplete { result in
            guard case .success = result, !closeWhenWritten else {
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

    private func cleanUp(userID: String?) {
        writer.dropQueued()
        replaying = [:]
        loopHub.remove(self, user: userID)
        live.connectionsGauge.record(live.openConnections.wrappingSubtract(1, ordering: .relaxed).newValue)
        let keys = live.switchboard.keys
        var channels = conversations.map(keys.conversationChannel) + watching.map(keys.presenceChannel)
        if let userID {
            if registered { channels += [keys.userChannel(userID), keys.postsChannel] }
            let presence = live.switchboard.presence
            let member = connectionID
            live.background.submit("presence of a closed connection") { try? await presence.disconnect(user: userID, member: member) }
        }
        hub.release(channels)
        conversations = []
        watching = []
    }

    // MARK: Outbound

    /// Writes an encoded frame (`ServerFrame`) now, or queues it while the
    /// socket is full; an overflowing queue closes the connection with 4008.
    /// A broadcast's frame buffer is shared by every recipient.
    func write(_ frame: ByteBuffer, flush: Bool) {
        guard !machine.isClosing, !writer.send(frame, flush: flush) else { return }
        live.overflowCloses.increment()
        logger.info("slow consumer: outbound queue overflowed")
        close(code: .slowConsumer, reason: "slow consumer")
    }

    /// Whether a write goes straight to the socket (nothing queued, the socket takes more).
    var isWriterReady: Bool { writer.isReady }

    /// Completes when writes go straight to the socket again (fails if the connection closes).
    func whenWriterReady() -> EventLoopFuture<Void> { writer.whenReady(on: eventLoop) }

    /// Bytes waiting for the peer (the bounded queue and the channel's buffer).
    var bufferedBytes: Int { writer.bufferedBytes }

    /// Flushes what was written without a flush (one flush per loop tick for broadcasts).
    func flushIfNeeded() {
        writer.flushIfNeeded()
    }

    // MARK: Live events

    /// A live event for this connection (from the hub, on this loop).
    func deliver(_ frame: ByteBuffer, conversation: String?, seq: Int?) {
        switch machine.liveEventArrived(.init(conversation: conversation, frame: frame, seq: seq)) {
        case .deliver: write(frame, conversation: conversation, seq: seq)
        case .hold, .drop: return
        case .deliverHeld(let events): deliverHeld(events, resumed: [])
        }
    }

    /// Writes a live event, unless `resume` is replaying its conversation
    /// (then it waits in the replay buffer) or already wrote its seq.
    private func write(_ frame: ByteBuffer, conversation: String?, seq: Int?) {
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

    /// The hold after authentication ended: events of `resumed`
    /// conversations join their replay buffers, the others go out now.
    private func deliverHeld(_ events: [StateMachine.HeldEvent], resumed: Set<String>) {
        for event in events {
            if let conversation = event.conversation, resumed.contains(conversation), replaying[conversation] != nil {
                replaying[conversation]!.append((event.frame, event.seq))
            } else {
                write(event.frame, conversation: event.conversation, seq: event.seq)
            }
        }
        flushIfNeeded()
    }

    /// `resume` starts: live events of these conversations wait behind their
    /// replay from here on, and the hold after authentication (if any) ends
    /// with its events merged into the replay.
    func beginReplay(_ requested: [String]) {
        for conversation in requested where conversations.contains(conversation) {
            replaying[conversation] = replaying[conversation] ?? []
        }
        if case .deliverHeld(let events) = machine.releaseHeld() { deliverHeld(events, resumed: Set(requested)) }
    }

    /// Whether live events of a conversation wait behind a replay.
    func hasReplay(_ conversation: String) -> Bool { replaying[conversation] != nil }

    /// Live events of a conversation wait behind a replay from here on.
    func startReplayBuffer(_ conversation: String) {
        replaying[conversation] = replaying[conversation] ?? []
    }

    /// `resume` wrote a conversation's replay: its buffered live events, to write after it.
    func endReplay(_ conversation: String) -> [(ByteBuffer, Int?)] {
        replaying.removeValue(forKey: conversation) ?? []
    }

    /// `resume` wrote a conversation up to `seq`: later live events up to it are dropped.
    func setWatermark(_ seq: Int, for conversation: String) {
        watermarks[conversation] = seq
    }

    // MARK: Membership

    /// Becomes a receiver of a conversation's live events (added while
    /// connected: out of the conversation's offline set, too). Answers when
    /// the node's subscription to the conversation is live (nil: nothing to join).
    @discardableResult
    func joinConversation(_ conversation: String, channel: String, hub: FanoutHub) -> EventLoopFuture<Void>? {
        guard let userID, !machine.isClosing, !conversations.contains(conversation) else { return nil }
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

    /// After the first authentication: registers the session for its user's
    /// and conversations' events; completes once the subscriptions are active.
    func register(user: String, conversations ids: [String]) -> EventLoopFuture<Void> {
        // After an announced `resume`, live events wait for it, at most `holdTime`.
        if machine.resumeAnnounced {
            let bound = NIOLoopBound(self, eventLoop: eventLoop)
            eventLoop.scheduleTask(in: .milliseconds(Int64(live.configuration.resumeHoldTime * 1000))) {
                let session = bound.value
                session.perform(session.machine.releaseHeld())
            }
        }
        let keys = live.switchboard.keys
        registered = true
        loopHub.addUser(self, user: user)
        // The posts channel: new posts of read-time authors, checked against local users by the hub.
        var channels = [keys.userChannel(user), keys.postsChannel]
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

    /// Records the outcome of a token verification (see `authenticate`).
    func authSucceeded(user: String, tokenExpiry: Int) -> StateMachine.AuthSuccessAction {
        machine.authSucceeded(user: user, tokenExpiry: tokenExpiry)
    }

    func authFailed(_ error: SwitchboardError) {
        machine.authFailed(error)
    }
}
