import Metrics
import NIOCore

/// The NIO handler under one Redis connection: queues the promises of
/// requests in flight, parses replies with hiredis and completes the promises
/// in order.
///
/// Writes are coalesced: every request is written at once but the channel is
/// flushed once per event-loop tick, so concurrent callers share a syscall
/// (automatic pipelining). Lives on its channel's event loop only.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var promise: EventLoopPromise<RedisValue>
        var sent: NIODeadline
    }

    /// Time from writing a request to reading its reply, for every command of the process.
    static let latency = Metrics.Timer(label: "redis_command_duration_seconds")

    private var pending = CircularBuffer<Pending>(initialCapacity: 64)
    private let parser = RedisReplyParser()
    private var context: ChannelHandlerContext?
    private var flushScheduled = false
    private var failure: RedisError?
    private let requestTimeout: TimeAmount?
    private var timeoutCheck: RepeatedTask?

    /// Receives replies that answer no request: pub/sub messages and
    /// subscription confirmations on a subscriber connection.
    var pushHandler: ((RedisValue) -> Void)?

    init(requestTimeout: TimeAmount?) {
        self.requestTimeout = requestTimeout
    }

    /// Number of requests waiting for their reply.
    var inFlight: Int { pending.count }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let requestTimeout {
            let interval = TimeAmount.nanoseconds(max(requestTimeout.nanoseconds / 4, 10_000_000))
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            timeoutCheck = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                bound.value.checkDeadlines()
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeoutCheck?.cancel()
        failAll(RedisError(code: .connectionClosed, message: "the connection to Redis was closed"))
        self.context = nil
    }

    /// Writes an encoded request; `promises` receive its replies in order.
    func enqueue(_ bytes: ByteBuffer, promise: EventLoopPromise<RedisValue>?) {
        if let failure {
            promise?.fail(failure)
            return
        }
        guard let context else {
            promise?.fail(RedisError(code: .connectionClosed, message: "the connection to Redis was closed"))
            return
        }
        if let promise { pending.append(Pending(promise: promise, sent: .now())) }
        context.write(wrapOutboundOut(bytes), promise: nil)
        scheduleFlush(context)
    }

    /// Writes several encoded requests as one buffer; one promise a request.
    func enqueue(_ bytes: ByteBuffer, promises: [EventLoopPromise<RedisValue>]) {
        if let failure {
            for promise in promises { promise.fail(failure) }
            return
        }
        guard let context else {
            let error = RedisError(code: .connectionClosed, message: "the connection to Redis was closed")
            for promise in promises { promise.fail(error) }
            return
        }
        let sent = NIODeadline.now()
        for promise in promises { pending.append(Pending(promise: promise, sent: sent)) }
        context.write(wrapOutboundOut(bytes), promise: nil)
        scheduleFlush(context)
    }

    private func scheduleFlush(_ context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { [weak self] in
            guard let self, let context = self.context else { return }
            self.flushScheduled = false
            context.flush()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        do {
            try parser.feed(buffer)
            var now: NIODeadline?
            while let reply = try parser.next() {
                if let next = pending.popFirst() {
                    let received = now ?? .now()
                    now = received
                    Self.latency.recordNanoseconds((received - next.sent).nanoseconds)
                    next.promise.succeed(reply)
                } else if let pushHandler {
                    pushHandler(reply)
                }
            }
        } catch {
            fail(context: context, error)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError(code: .connectionClosed, message: "the connection to Redis was closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let redisError =
            (error as? RedisError)
            ?? RedisError(code: .connectionClosed, message: "the connection to Redis failed: \(error)")
        fail(context: context, redisError)
    }

    private func checkDeadlines() {
        guard let requestTimeout, let first = pending.first, first.sent + requestTimeout < .now(), let context else { return }
        fail(context: context, RedisError(code: .timeout, message: "Redis did not answer within \(requestTimeout)"))
    }

    /// Fails everything in flight and closes the connection: after a timeout
    /// or a protocol error the reply stream can no longer be trusted.
    private func fail(context: ChannelHandlerContext, _ error: RedisError) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisError) {
        if failure == nil { failure = error }
        while let next = pending.popFirst() { next.promise.fail(error) }
    }
}
