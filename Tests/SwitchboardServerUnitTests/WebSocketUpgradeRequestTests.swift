import Foundation
import NIOCore
import Testing

@testable import SwitchboardServer

/// Which first request heads `DirectUpgradeHandler` upgrades itself; every
/// other one goes to NIO's HTTP pipeline (`.other`) unchanged.
@Suite("WebSocket upgrade request head")
struct WebSocketUpgradeRequestTests {
    static let plain =
        "GET /ws?resume=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer abc.def.ghi\r\n"
        + "Origin: http://127.0.0.1:8080\r\n\r\n"

    func parse(_ text: String) -> WebSocketUpgradeRequest.Parsed {
        Array(text.utf8).withUnsafeBytes { WebSocketUpgradeRequest.parse($0) }
    }

    @Test func aPlainUpgradeIsReadWithWhatTheSessionNeeds() {
        let expected = WebSocketUpgradeRequest(
            target: "/ws?resume=1", key: "dGhlIHNhbXBsZSBub25jZQ==", authorization: "Bearer abc.def.ghi",
            origin: "http://127.0.0.1:8080", host: "127.0.0.1:8080")
        #expect(parse(Self.plain) == .upgrade(expected, headLength: Self.plain.utf8.count))
        // Bytes after the head (a first frame) are not part of it.
        #expect(parse(Self.plain + "\u{81}\u{80}") == .upgrade(expected, headLength: Self.plain.utf8.count))
    }

    @Test func halfAHeadWaitsForTheRest() {
        #expect(parse("") == .incomplete)
        #expect(parse("GE") == .incomplete)
        #expect(parse(String(Self.plain.dropLast(2))) == .incomplete)
        #expect(parse("GET /ws HTTP/1.1\r\nX-Pad: " + String(repeating: "a", count: 9000)) == .other)
    }

    @Test func everythingElseTakesTheHTTPPipeline() {
        let cases: [(String, String)] = [
            ("POST", Self.plain.replacingOccurrences(of: "GET ", with: "POST ")),
            ("another path", Self.plain.replacingOccurrences(of: "/ws?", with: "/wss?")),
            ("HTTP/1.0", Self.plain.replacingOccurrences(of: "HTTP/1.1", with: "HTTP/1.0")),
            ("version 8", Self.plain.replacingOccurrences(of: "Version: 13", with: "Version: 8")),
            ("no key", Self.plain.replacingOccurrences(of: "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", with: "")),
            ("two keys", Self.plain.replacingOccurrences(of: "Sec-WebSocket-Version", with: "Sec-WebSocket-Key: a\r\nSec-WebSocket-Version")),
            ("no Connection: upgrade", Self.plain.replacingOccurrences(of: "keep-alive, Upgrade", with: "keep-alive")),
            ("another protocol", Self.plain.replacingOccurrences(of: "Upgrade: websocket", with: "Upgrade: h2c")),
            ("a body", Self.plain.replacingOccurrences(of: "Origin:", with: "Content-Length: 2\r\nOrigin:")),
            ("a folded line", Self.plain.replacingOccurrences(of: "\r\nOrigin:", with: "\r\n continued\r\nOrigin:")),
            ("bare LF", Self.plain.replacingOccurrences(of: "Host: 127.0.0.1:8080\r\n", with: "Host: 127.0.0.1:8080\n")),
            ("not ASCII", Self.plain.replacingOccurrences(of: "http://127.0.0.1:8080", with: "http://exämple.org")),
        ]
        for (name, head) in cases {
            #expect(parse(head) == .other, "\(name)")
        }
    }

    @Test func theAcceptValueIsRFC6455s() {
        // RFC 6455, section 1.3.
        var response = DirectUpgradeHandler.response(key: "dGhlIHNhbXBsZSBub25jZQ==", allocator: ByteBufferAllocator())
        let text = response.readString(length: response.readableBytes) ?? ""
        #expect(text.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(text.contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"))
        #expect(text.hasSuffix("\r\n\r\n"))
    }
}
