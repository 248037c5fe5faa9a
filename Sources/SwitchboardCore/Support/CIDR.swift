#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as its bytes (4 or 16), parsed strictly.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 (IPv6). IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are stored as IPv4.
    public let bytes: [UInt8]

    /// Parses dotted IPv4 or IPv6 text (no port, no brackets, no zone); nil for anything else.
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        guard !text.isEmpty, text.utf8.count <= 45 else { return nil }
        if !text.contains(":") {
            var v4 = in_addr()
            guard inet_pton(AF_INET, text, &v4) == 1 else { return nil }
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let raw = withUnsafeBytes(of: &v6) { Array($0) }
        if raw[0..<10].allSatisfy({ $0 == 0 }) && raw[10] == 0xFF && raw[11] == 0xFF {
            bytes = Array(raw[12..<16])
        } else {
            bytes = raw
        }
    }

    /// The canonical text (`inet_ntop`): one spelling per address, safe in a Redis key.
    public var description: String {
        var buffer = [CChar](repeating: 0, count: 64)
        var raw = bytes
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let written = raw.withUnsafeMutableBytes { source in
            buffer.withUnsafeMutableBufferPointer { inet_ntop(family, source.baseAddress, $0.baseAddress, 64) }
        }
        guard written != nil else { return "invalid" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An address range in CIDR notation (`10.0.0.0/8`, `fd00::/8`, or a single address).
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    public let network: IPAddress
    public let prefixLength: Int

    /// Parses `address/prefix` or a bare address (all bits); nil when malformed.
    public init?(_ text: some StringProtocol) {
        let parts = text.trimmingWhitespace().split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPAddress(parts[0]) else { return nil }
        let bits = address.bytes.count * 8
        var length = bits
        if parts.count == 2 {
            guard parts[1].utf8.count <= 3, parts[1].utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = Int(parts[1]),
                value <= bits
            else { return nil }
            length = value
        }
        network = address
        prefixLength = length
    }

    /// Whether `address` lies in this range (an IPv4 address never lies in an IPv6 range, and back).
    public func contains(_ address: IPAddress) -> Bool {
        guard address.bytes.count == network.bytes.count else { return false }
        var left = prefixLength
        for index in 0..<address.bytes.count where left > 0 {
            let mask: UInt8 = left >= 8 ? 0xFF : ~(0xFF >> UInt8(left))
            if address.bytes[index] & mask != network.bytes[index] & mask { return false }
            left -= 8
        }
        return true
    }

    public var description: String { "\(network)/\(prefixLength)" }

    /// Parses a comma-separated list (`SWITCHBOARD_TRUSTED_PROXIES`); throws naming the first bad entry.
    public static func list(_ text: String) throws(SwitchboardError) -> [CIDR] {
        try text.split(separator: ",").map { entry throws(SwitchboardError) in
            guard let range = CIDR(entry) else { throw .invalid("not a CIDR range: \(entry.trimmingWhitespace())") }
            return range
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing whitespace.
    public func trimmingWhitespace() -> Substring {
        let view = Substring(self)
        guard let start = view.firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let end = view.lastIndex(where: { !$0.isWhitespace })!
        return view[start...end]
    }
}
