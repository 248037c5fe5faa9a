import COpenSSL
import Foundation
import NIOCore
import NIOPosix
import SwitchboardClient
import Testing

/// The SDK's WebSocket client against a raw server that controls how bytes
/// are cut into reads.
@Suite("WebSocket client connection")
struct WebSocketConnectionTests {
    /// Answers any upgrade request with the 101 and a close frame (4001) in
    /// one write, so both arrive in the client's first read.
    final class UpgradeAndCloseInOneWrite: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private var request = ""

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            request += buffer.readString(length: buffer.readableBytes) ?? ""
            guard request.contains("\r\n\r\n") else { return }
            let key =
                request.split(separator: "\r\n")
                .first { $0.lowercased().hasPrefix("sec-websocket-key:") }
                .map { $0.dropFirst("sec-websocket-key:".count).trimmingCharacters(in: .whitespaces) } ?? ""
            var digest = [UInt8](repeating: 0, count: 20)
            let input = Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8)
            _ = SHA1(input, input.count, &digest)
            var out = context.channel.allocator.buffer(capacity: 256)
            out.writeString(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: \(Data(digest).base64EncodedString())\r\n\r\n")
            let reason = Array("no token".utf8)
            out.writeBytes([0x88, UInt8(2 + reason.count), 0x0F, 0xA1] + reason)  // close, 4001
            // The end of the stream a little later: a client that lost the frame sees no close code.
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            channel.eventLoop.scheduleTask(in: .milliseconds(300)) { channel.close(promise: nil) }
        }
    }

    @Test func framesInTheSameReadAsThe101AreKept() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(UpgradeAndCloseInOneWrite()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let connection = try await WebSocketConnection.connect(host: "127.0.0.1", port: server.localAddress!.port!)
        var code: UInt16?
        for await inbound in connection.inbound {
            if case .close(let received, let reason) = inbound {
                code = received
                #expect(reason == "no token")
                break
            }
        }
        #expect(code == 4001)
        await connection.abort()
        try await server.close()
    }
}
