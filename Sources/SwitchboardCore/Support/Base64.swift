import Foundation

/// Base64 and base64url (RFC 4648 §5, no padding) for tokens and hashes.
public enum Base64 {
    public static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    public static func decode(_ text: String) -> [UInt8]? { Data(base64Encoded: text).map { Array($0) } }

    private static let urlAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    /// Byte → 6-bit value of the base64url alphabet, 0xFF for anything else.
    private static let urlValues: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, byte) in urlAlphabet.enumerated() { table[Int(byte)] = UInt8(value) }
        return table
    }()

    public static func urlEncode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= bytes.count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            out.append(urlAlphabet[Int(chunk >> 18 & 63)])
            out.append(urlAlphabet[Int(chunk >> 12 & 63)])
            out.append(urlAlphabet[Int(chunk >> 6 & 63)])
            out.append(urlAlphabet[Int(chunk & 63)])
            index += 3
        }
        let left = bytes.count - index
        if left > 0 {
            let chunk = UInt32(bytes[index]) << 16 | (left == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
            out.append(urlAlphabet[Int(chunk >> 18 & 63)])
            out.append(urlAlphabet[Int(chunk >> 12 & 63)])
            if left == 2 { out.append(urlAlphabet[Int(chunk >> 6 & 63)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes unpadded base64url strictly: nil for any other character,
    /// padding included, an impossible length, or set trailing bits (so every
    /// byte string has exactly one accepted spelling; RFC 4648 §3.5).
    /// (Table-driven over the UTF-8 bytes: it runs on every WebSocket authentication.)
    public static func urlDecode<S: StringProtocol>(_ text: S) -> [UInt8]? {
        let input = text.utf8
        let count = input.count
        if count % 4 == 1 { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in input {
            let value = urlValues[Int(byte)]
            if value == 0xFF { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        // The 2 or 4 bits left over belong to no byte: a canonical encoding leaves them zero.
        guard accumulator == 0 else { return nil }
        return out
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
