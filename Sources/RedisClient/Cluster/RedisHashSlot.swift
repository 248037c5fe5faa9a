/// A Redis Cluster hash slot: CRC16 (XMODEM) of the key, or of its hash tag
/// (the part between the first `{` and the next `}` when non-empty), modulo 16384.
///
/// Keys that share a hash tag (`sb:conv:{c1}`, `sb:conv:{c1}:msgs`) share a
/// slot, which is what lets one script touch them all on a cluster.
public struct RedisHashSlot: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The number of slots of every Redis Cluster.
    public static let count = 16384

    /// 0 ..< 16384.
    public let rawValue: Int

    public init(rawValue: Int) {
        precondition((0..<Self.count).contains(rawValue), "hash slot out of range: \(rawValue)")
        self.rawValue = rawValue
    }

    /// The slot of a key.
    public init(key: some Collection<UInt8>) {
        self.rawValue = Int(Self.crc16(Self.hashedPart(of: key)) & 0x3FFF)
    }

    /// The slot of a key given as a string.
    public init(key: String) { self.init(key: Array(key.utf8)) }

    /// The bytes Redis hashes: the hash tag when there is a non-empty one, else the whole key.
    static func hashedPart<C: Collection<UInt8>>(of key: C) -> C.SubSequence {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")) else { return key[...] }
        let afterOpen = key.index(after: open)
        guard let close = key[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close != afterOpen else { return key[...] }
        return key[afterOpen..<close]
    }

    /// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as in Redis' `crc16.c`.
    static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}
