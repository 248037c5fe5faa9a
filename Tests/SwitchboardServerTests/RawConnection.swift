import Foundation
import NIOCore
import NIOPosix
import SwitchboardTestSupport

/// A bare TCP client for what a WebSocket library will not do: half a
/// request, a flood without reading, a hand-written upgrade.
final class RawConnection: @unchecked Sendable {
    let channel: any Channel
    private let collector: Collector

    final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let lock = NSLock()
        var bytes: [UInt8] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            let read = buffer.readBytes(length: buffer.readableBytes) ?? []
            lock.lock()
            bytes += read
            lock.unlock()
        }
    }

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    /// Connects to a node; `reading: false` never reads what the node sends.
    static func connect(_ node: TestNode, reading: Bool = true) async throws -> RawConnection {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.autoRead, value: reading)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: node.port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    /// Writes without waiting for the bytes to leave.
    func write(_ buffer: ByteBuffer) {
        channel.writeAndFlush(buffer, promise: nil)
    }

    var received: String {
        collector.lock.lock()
        defer { collector.lock.unlock() }
        return String(decoding: collector.bytes, as: UTF8.self)
    }

    /// Waits (at most `timeout`) for the node to close the connection; true when it did.
    func waitForClose(timeout: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !channel.isActive { return true }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return !channel.isActive
    }

    /// Waits (at most `timeout`) for a whole response head; answers its status line.
    func responseStatusLine(timeout: Double = 10) async -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let text = received
            if text.contains("\r\n\r\n") { return text.components(separatedBy: "\r\n").first }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        return nil
    }

    func close() async {
        try? await channel.close().get()
    }

    /// A WebSocket upgrade request for `/ws`.
    static func upgradeRequest(port: Int, origin: String? = nil, path: String = "/ws") -> String {
        "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            + (origin.map { "Origin: \($0)\r\n" } ?? "") + "\r\n"
    }
}
