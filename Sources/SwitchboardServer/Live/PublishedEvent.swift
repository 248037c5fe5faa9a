import Foundation
import NIOCore
import NIOWebSocket

/// One event published on a pub/sub channel, decoded once per node: the
/// client frame encoded once (`ServerFrame`) and shared by every recipient,
/// plus what the hub needs to route it.
struct PublishedEvent {
    /// The client frame, without the publisher's `origin`.
    var frame: ByteBuffer
    /// The message's seq (`message` events only).
    var seq: Int?
    /// The connection that caused the event (its own echo may be skipped).
    var origin: String?
    /// The event's `ev`.
    var event: String
    /// The decoded JSON, for events the hub acts on (`conversation`); empty for messages.
    var object: [String: Any]
    /// The message's `ts` (ms), to measure publish → written.
    var ts: Int? = nil
}

extension PublishedEvent {
    private static let messagePrefix = Array(#"{"ev":"message","message":{"#.utf8)
    private static let originMarker = Array(#","origin":""#.utf8)
    private static let seqKey = Array(#""seq":"#.utf8)
    private static let tsKey = Array(#""ts":"#.utf8)

    /// Decodes a payload, strips `origin`, and encodes the client frame once.
    static func decode(_ payload: [UInt8]) -> PublishedEvent? {
        if let event = decodeMessage(payload) { return event }
        guard var object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any],
            let event = object["ev"] as? String
        else { return nil }
        let origin = object.removeValue(forKey: "origin") as? String
        let seq = (object["message"] as? [String: Any])?["seq"].flatMap { ClientCommand.integer($0) }
        let ts = (object["message"] as? [String: Any])?["ts"].flatMap { ClientCommand.integer($0) }
        let frame: ByteBuffer
        if origin == nil {
            frame = ServerFrame.text(bytes: payload)
        } else {
            frame = ServerFrame.text(JSONText.serialize(object))
        }
        return PublishedEvent(
            frame: frame, seq: event == "message" ? seq : nil, origin: origin?.isEmpty == true ? nil : origin,
            event: event, object: object, ts: event == "message" ? ts : nil)
    }

    /// The fast path for what `send.lua` publishes,
    /// `{"ev":"message","message":{...},"origin":"..."}` in this order: the
    /// frame is the payload's bytes without the origin, seq and ts are read
    /// off the message object; no JSON parse. (A `"` inside a JSON string is
    /// always escaped, so `"seq":` and `,"origin":"` can only be structure.)
    static func decodeMessage(_ payload: [UInt8]) -> PublishedEvent? {
        guard payload.count > messagePrefix.count + originMarker.count + 2,
            payload.starts(with: messagePrefix), payload.last == UInt8(ascii: "}")
        else { return nil }
        // The origin: from the last `,"origin":"` to the closing `"}`.
        let end = payload.count - 2
        guard payload[end] == UInt8(ascii: "\"") else { return nil }
        var start = end - 1
        while start >= messagePrefix.count, payload[start] != UInt8(ascii: "\"") { start -= 1 }
        let markerStart = start - (originMarker.count - 1)
        guard markerStart > messagePrefix.count,
            payload[markerStart..<(start + 1)].elementsEqual(originMarker),
            !payload[(start + 1)..<end].contains(UInt8(ascii: "\\"))
        else { return nil }
        let origin = String(decoding: payload[(start + 1)..<end], as: UTF8.self)
        let message = payload[messagePrefix.count..<markerStart]
        guard let seq = integer(after: seqKey, in: message), let ts = integer(after: tsKey, in: message) else { return nil }
        let frame = ServerFrame.make(.text, length: markerStart + 1) { frame in
            frame.writeBytes(payload[..<markerStart])
            frame.writeInteger(UInt8(ascii: "}"))
        }
        return PublishedEvent(
            frame: frame, seq: seq, origin: origin.isEmpty ? nil : origin, event: "message", object: [:], ts: ts)
    }

    /// The non-negative integer right after the first `key` in `bytes`.
    static func integer(after key: [UInt8], in bytes: ArraySlice<UInt8>) -> Int? {
        guard let first = key.first else { return nil }
        var index = bytes.startIndex
        let last = bytes.endIndex - key.count
        while index <= last {
            if bytes[index] == first, bytes[index..<(index + key.count)].elementsEqual(key) {
                var value = 0
                var position = index + key.count
                var digits = 0
                while position < bytes.endIndex, (48...57).contains(bytes[position]), digits < 18 {
                    value = value * 10 + Int(bytes[position] - 48)
                    position += 1
                    digits += 1
                }
                return digits > 0 ? value : nil
            }
            index += 1
        }
        return nil
    }
}
