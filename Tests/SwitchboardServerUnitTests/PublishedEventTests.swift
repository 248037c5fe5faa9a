import Foundation
import NIOCore
import Testing

@testable import SwitchboardServer

/// What the hub makes of a published event: the client frame (origin
/// stripped, WebSocket header included), seq, ts and origin.
@Suite("Fan-out decoding")
struct PublishedEventTests {
    /// The frame's payload as a JSON object.
    func object(_ frame: ByteBuffer) throws -> [String: Any] {
        var payload = ServerFrame.payload(of: frame)
        let bytes = payload.readBytes(length: payload.readableBytes) ?? []
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    func published(_ message: String, origin: String) -> [UInt8] {
        Array(#"{"ev":"message","message":"#.utf8) + Array(message.utf8) + Array(#","origin":"#.utf8) + Array(origin.utf8) + [UInt8(ascii: "}")]
    }

    @Test func sendPayloadIsSlicedWithoutParsing() throws {
        let message =
            #"{"id":"1-0","conv":"c_1","seq":42,"from":"u_1","kind":"text","text":"hi \"there\", \/ ,\"origin\":\"x\"}","ts":1795000000123}"#
        let payload = published(message, origin: #""n_a/c_9""#)
        let event = try #require(PublishedEvent.decodeMessage(payload))
        #expect(event.seq == 42)
        #expect(event.ts == 1_795_000_000_123)
        #expect(event.origin == "n_a/c_9")
        let frame = try object(event.frame)
        #expect(frame["ev"] as? String == "message")
        #expect(frame["origin"] == nil)
        let decoded = try #require(frame["message"] as? [String: Any])
        #expect(decoded["text"] as? String == #"hi "there", / ,"origin":"x"}"#)
        #expect(decoded["seq"] as? Int == 42)
    }

    @Test func frameHeaderMatchesThePayloadLength() throws {
        for size in [10, 125, 126, 200, 65_535, 70_000] {
            let text = String(repeating: "a", count: size)
            let frame = ServerFrame.text(text)
            var copy = frame
            #expect(copy.readInteger(as: UInt8.self) == 0x81)
            let length = Int(copy.readInteger(as: UInt8.self)!)
            switch size {
            case ..<126: #expect(length == size)
            case ...65_535:
                #expect(length == 126)
                #expect(copy.readInteger(as: UInt16.self).map(Int.init) == size)
            default:
                #expect(length == 127)
                #expect(copy.readInteger(as: UInt64.self).map(Int.init) == size)
            }
            #expect(copy.readableBytes == size)
        }
    }

    @Test func otherShapesTakeTheParsingPath() throws {
        // An origin cjson escaped, keys in another order, an edit: all still decode.
        let escaped = published(#"{"id":"1-0","conv":"c_1","seq":7,"from":"u_1","kind":"text","text":"x","ts":5}"#, origin: #""n_a\/c_9""#)
        #expect(PublishedEvent.decodeMessage(escaped) == nil)
        let slow = try #require(PublishedEvent.decode(escaped))
        #expect(slow.origin == "n_a/c_9")
        #expect(slow.seq == 7)
        #expect(try object(slow.frame)["origin"] == nil)

        let reordered = Array(#"{"origin":"n/c","ev":"message","message":{"seq":3,"ts":9,"text":"y"}}"#.utf8)
        let other = try #require(PublishedEvent.decode(reordered))
        #expect(other.seq == 3 && other.origin == "n/c")

        let edit = Array(#"{"ev":"message.edited","message":{"seq":3,"ts":9,"text":"y"}}"#.utf8)
        let edited = try #require(PublishedEvent.decode(edit))
        #expect(edited.seq == nil && edited.event == "message.edited")
        #expect(try object(edited.frame)["ev"] as? String == "message.edited")

        #expect(PublishedEvent.decode(Array("not json".utf8)) == nil)
    }
}
