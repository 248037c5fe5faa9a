import NIOCore

/// Closes a connection whose first request head is not complete in time
/// (slowloris: half a request, or nothing at all, held open).
///
/// The first handler of every accepted connection, on raw bytes: it looks
/// for the blank line that ends the head and then removes itself. Later
/// requests on a kept-alive connection are covered by the HTTP idle
/// timeout, an upgraded WebSocket by its authentication deadline.
final class RequestHeadTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// The last bytes seen, to find `\r\n\r\n` across reads.
    private var tail: UInt32 = 0
    private var done = false

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !done {
            let buffer = unwrapInboundIn(data)
            buffer.withUnsafeReadableBytes { bytes in
                for byte in bytes {
                    tail = (tail << 8) | UInt32(byte)
                    if tail == 0x0D0A_0D0A {
                        done = true
                        break
                    }
                }
            }
            if done {
                timer?.cancel()
                timer = nil
                context.fireChannelRead(data)
                context.pipeline.syncOperations.removeHandler(self, promise: nil)
                return
            }
        }
        context.fireChannelRead(data)
    }
}
