/// scrypt password hashes as one self-describing string:
/// `scrypt$N$r$p$<salt base64>$<hash base64>`, so parameters can be raised later.
public struct PasswordHasher: Sendable {
    public var n: UInt64
    public var r: UInt64
    public var p: UInt64
    static let hashLength = 32

    public init(n: UInt64 = 1 << 15, r: UInt64 = 8, p: UInt64 = 3) {
        self.n = n
        self.r = r
        self.p = p
    }

    /// Hashes with a fresh 16-byte random salt. Takes tens of ms: call it off the event loop.
    public func hash(_ password: String) -> String {
        let salt = RandomID.bytes(16)
        let derived = Crypto.scrypt(
            password: Array(password.utf8), salt: salt, n: n, r: r, p: p, length: Self.hashLength)!
        return "scrypt$\(n)$\(r)$\(p)$\(Base64.encode(salt))$\(Base64.encode(derived))"
    }

    /// Whether `password` matches `stored`, compared in constant time, with the parameters stored in it.
    public func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "scrypt", let n = UInt64(parts[1]), let r = UInt64(parts[2]),
            let p = UInt64(parts[3]), let salt = Base64.decode(String(parts[4])),
            let expected = Base64.decode(String(parts[5])), !expected.isEmpty,
            n > 1, n & (n - 1) == 0, n <= 1 << 20, r <= 64, p <= 16
        else { return false }
        guard
            let derived = Crypto.scrypt(
                password: Array(password.utf8), salt: salt, n: n, r: r, p: p, length: expected.count)
        else { return false }
        return Crypto.constantTimeEquals(derived, expected)
    }
}
