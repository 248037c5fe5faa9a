import SwitchboardProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte patterns the bench client looks for in what the server sends: it
/// reads frames in place instead of decoding JSON.
enum Needle {
    static let headerEnd: [UInt8] = Array("\r\n\r\n".utf8)
    static let seq: [UInt8] = Array(#""seq":"#.utf8)
    static let stamp: [UInt8] = Array(#""text":"t="#.utf8)
    static let message: [UInt8] = Array(#""ev":"\#(ServerEvent.message.rawValue)""#.utf8)
    static let okTrue: [UInt8] = Array(#""ok":true"#.utf8)
    static let replyStart: [UInt8] = Array(#"{"re":"#.utf8)
}

/// Where `needle` first occurs in `haystack` at or after `start`.
@inline(__always)
func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer, from start: Int) -> Int? {
    guard let base = haystack.baseAddress, haystack.count - start >= needle.count, let first = needle.first else { return nil }
    return needle.withUnsafeBytes { pattern -> Int? in
        let last = haystack.count - pattern.count
        var index = start
        while index <= last {
            guard let hit = memchr(base + index, Int32(first), last - index + 1) else { return nil }
            let position = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(base + position, pattern.baseAddress!, pattern.count) == 0 { return position }
            index = position + 1
        }
        return nil
    }
}

/// The decimal number at `index` (nil when there is no digit).
@inline(__always)
func number(in bytes: UnsafeRawBufferPointer, at index: Int) -> UInt64? {
    var value: UInt64 = 0
    var position = index
    while position < bytes.count {
        let byte = bytes[position]
        guard byte >= 48, byte <= 57 else { break }
        value = value &* 10 &+ UInt64(byte - 48)
        position += 1
    }
    return position > index ? value : nil
}

/// Appends `value` in decimal (no allocation besides `bytes` growing).
@inline(__always)
func appendDigits(_ value: UInt64, to bytes: inout [UInt8]) {
    if value == 0 {
        bytes.append(48)
        return
    }
    var digits:
        (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
    var rest = value
    withUnsafeMutableBytes(of: &digits) { raw in
        while rest > 0 {
            raw[count] = UInt8(48 + rest % 10)
            rest /= 10
            count += 1
        }
        for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(raw[index]) }
    }
}
