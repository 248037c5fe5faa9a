import COpenSSL

/// Random identifiers and bytes from OpenSSL's CSPRNG (`RAND_bytes`).
public enum RandomID {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// `count` cryptographically random bytes.
    public static func bytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let status = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        precondition(status == 1, "RAND_bytes failed: the system has no entropy source")
        return bytes
    }

    /// A random base62 string (about 5.95 bits per character).
    public static func make(length: Int) -> String {
        var result: [UInt8] = []
        result.reserveCapacity(length)
        while result.count < length {
            for byte in bytes(length * 2) where byte < 248 && result.count < length {
                result.append(alphabet[Int(byte) % 62])
            }
        }
        return String(decoding: result, as: UTF8.self)
    }
}
