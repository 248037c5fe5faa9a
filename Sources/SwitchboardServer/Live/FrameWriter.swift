import NIOCore

/// The first handler of an upgraded WebSocket channel (next to the socket):
/// the session writes frames it encoded itself (`ServerFrame`) through it,
/// so they bypass NIO's `WebSocketFrameEncoder` further down the pipeline.
///
/// It owns the outbound side of a session: data frames go straight to the
/// socket while it is writable and wait in a bounded `OutboundQueue` while
/// it is not; writes without a flush are flushed once, later (one flush per
/// loop tick for a broadcast).
///
/// It also holds the channel's reads while the socket is full or frames
/// wait: a client that writes without reading (pings, commands) then waits
/// for its own answers instead of making the node buffer them.
final class FrameWriter: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?
    private var queue: OutboundQueue
    private var needsFlush = false
    /// A `read()` held back while the socket was full.
    private var readHeld = false
    /// Waiting for the socket to take writes again (`whenReady`); allocated only while some wait.
    private var readyWaiters: [EventLoopPromise<Void>]?

    init(maxFrames: Int, maxBytes: Int) {
        self.queue = OutboundQueue(maxFrames: maxFrames, maxBytes: maxBytes)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        queue.removeAll()
        let waiters = readyWaiters ?? []
        readyWaiters = nil
        for waiter in waiters { waiter.fail(ChannelError.ioOnClosedChannel) }
    }

    /// Whether a write goes straight to the socket (nothing queued, the socket takes more).
    var isReady: Bool {
        guard let context else { return false }
        return queue.isEmpty && context.channel.isWritable
    }

    /// Completes when a write would go straight to the socket again: a
    /// replay writes its next page then, at the client's pace.
    func whenReady(on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        guard context != nil else { return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        if isReady { return eventLoop.makeSucceededVoidFuture() }
        let promise = eventLoop.makePromise(of: Void.self)
        readyWaiters = (readyWaiters ?? []) + [promise]
        return promise.futureResult
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            while context.channel.isWritable, let frame = queue.popFirst() {
                context.write(wrapOutboundOut(frame), promise: nil)
            }
            flush()
            if context.channel.isWritable, queue.isEmpty {
                if let waiters = readyWaiters {
                    readyWaiters = nil
                    for waiter in waiters { waiter.succeed() }
                }
                if readHeld, self.context != nil, context.channel.isWritable, queue.isEmpty {
                    readHeld = false
                    context.read()
                }
            }
        }
        context.fireChannelWritabilityChanged()
    }

    /// Reads only while the socket takes what is written: every inbound
    /// frame may cost an outbound one (a pong, a reply).
    func read(context: ChannelHandlerContext) {
        guard context.channel.isWritable, queue.isEmpty else {
            readHeld = true
            return
        }
        context.read()
    }

    /// Bytes this connection holds for its peer: the queue and the channel's own buffer.
    var bufferedBytes: Int {
        let channelBytes = (try? context?.channel.syncOptions?.getOption(ChannelOptions.bufferedWritableBytes)) ?? 0
        return queue.bytes + channelBytes
    }

    /// Writes an encoded frame towards the socket, past the queue (the close frame only).
    func write(_ frame: ByteBuffer, promise: EventLoopPromise<Void>? = nil) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        needsFlush = true
        context.write(wrapOutboundOut(frame), promise: promise)
    }

    /// Writes a data frame now, or queues it while the socket is full (or
    /// frames wait already); false when the queue overflowed (the consumer
    /// is too slow: the queue is dropped).
    func send(_ frame: ByteBuffer, flush: Bool) -> Bool {
        guard let context else { return true }
        if queue.isEmpty, context.channel.isWritable {
            write(frame)
            if flush { self.flush() }
            return true
        }
        if queue.append(frame) { return true }
        queue.removeAll()
        return false
    }

    /// Drops the frames waiting for the socket (the connection is closing).
    func dropQueued() {
        queue.removeAll()
    }

    func flush() {
        needsFlush = false
        context?.flush()
    }

    /// Flushes what was written without a flush.
    func flushIfNeeded() {
        if needsFlush { flush() }
    }
}
