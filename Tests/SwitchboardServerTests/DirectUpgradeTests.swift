import Foundation
import NIOCore
import SwitchboardTestSupport
import Testing

/// The upgrade of a plain `GET /ws`, answered without NIO's HTTP pipeline
/// (`DirectUpgradeHandler`), seen from a hand-written client.
@Suite("Direct WebSocket upgrade")
struct DirectUpgradeTests {
    /// A masked text frame (zero mask: the payload reads as sent).
    static func frame(_ text: String) -> ByteBuffer {
        let payload = Array(text.utf8)
        var buffer = ByteBuffer()
        buffer.writeBytes([0x81, 0x80 | UInt8(payload.count), 0, 0, 0, 0] + payload)
        return buffer
    }

    static func upgrade(port: Int, token: String) -> String {
        RawConnection.upgradeRequest(port: port).replacingOccurrences(
            of: "Sec-WebSocket-Version: 13\r\n", with: "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer \(token)\r\n")
    }

    func waitFor(_ text: String, on raw: RawConnection) async -> Bool {
        for _ in 0..<500 {
            if raw.received.contains(text) { return true }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return raw.received.contains(text)
    }

    @Test func aCommandInTheSamePacketAsTheUpgradeIsAnsweredAfterTheHeaderToken() async throws {
        let node = try await TestNode.start()
        defer { Task { await node.stop() } }
        let alice = try await node.register()
        let raw = try await RawConnection.connect(node)
        var packet = ByteBuffer(string: Self.upgrade(port: node.port, token: alice.accessToken))
        var command = Self.frame(#"{"id":1,"op":"ping"}"#)
        packet.writeBuffer(&command)
        raw.write(packet)
        #expect(await waitFor(#"{"re":1,"ok":true}"#, on: raw))
        let text = raw.received
        #expect(text.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"))
        await raw.close()
    }

    @Test func aHeadInTwoPiecesIsUpgradedOnceComplete() async throws {
        let node = try await TestNode.start()
        defer { Task { await node.stop() } }
        let alice = try await node.register()
        let raw = try await RawConnection.connect(node)
        let head = Self.upgrade(port: node.port, token: alice.accessToken)
        try await raw.send(String(head.prefix(30)))
        try await Task.sleep(nanoseconds: 100_000_000)
        #expect(raw.received.isEmpty)
        try await raw.send(String(head.dropFirst(30)))
        #expect(await raw.responseStatusLine() == "HTTP/1.1 101 Switching Protocols")
        raw.write(Self.frame(#"{"id":"a","op":"ping"}"#))
        #expect(await waitFor(#"{"re":"a","ok":true}"#, on: raw))
        await raw.close()
    }

    @Test func aRouteOnAFreshConnectionIsStillServedByHTTP() async throws {
        let node = try await TestNode.start()
        defer { Task { await node.stop() } }
        let raw = try await RawConnection.connect(node)
        try await raw.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(await raw.responseStatusLine() == "HTTP/1.1 200 OK")
        // And a plain GET of /ws without an upgrade is the route's 400, as before.
        let plain = try await RawConnection.connect(node)
        try await plain.send("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(await plain.responseStatusLine() == "HTTP/1.1 400 Bad Request")
        await raw.close()
        await plain.close()
    }
}
