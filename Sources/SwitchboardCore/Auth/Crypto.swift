import COpenSSL

/// The libcrypto primitives Switchboard uses; nothing home-made.
public enum Crypto {
    /// HMAC-SHA256 of `message` under `key`.
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = key.withUnsafeBufferPointer { keyBytes in
            message.withUnsafeBufferPointer { messageBytes in
                HMAC(
                    EVP_sha256(), keyBytes.baseAddress, Int32(keyBytes.count), messageBytes.baseAddress,
                    messageBytes.count, &output, &length)
            }
        }
        precondition(result != nil, "HMAC-SHA256 failed")
        return Array(output.prefix(Int(length)))
    }

    /// SHA-256 of `data`.
    public static func sha256(_ data: [UInt8]) -> [UInt8] {
        digest(data, EVP_sha256(), length: Int(SHA256_DIGEST_LENGTH))
    }

    /// SHA-1 of `data`: only for `Sec-WebSocket-Accept` (RFC 6455 names it), never for security.
    public static func sha1(_ data: [UInt8]) -> [UInt8] {
        digest(data, EVP_sha1(), length: Int(SHA_DIGEST_LENGTH))
    }

    /// One-shot `EVP_Digest` of `data` with `md`, whose output has `length` bytes.
    private static func digest(_ data: [UInt8], _ md: OpaquePointer?, length: Int) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: length)
        var written: UInt32 = 0
        let status = data.withUnsafeBufferPointer { bytes in
            EVP_Digest(bytes.baseAddress, bytes.count, &output, &written, md, nil)
        }
        precondition(status == 1 && Int(written) == length, "digest failed")
        return output
    }

    /// scrypt key derivation (`EVP_PBE_scrypt`), with `maxmem` sized for the parameters.
    public static func scrypt(
        password: [UInt8], salt: [UInt8], n: UInt64, r: UInt64, p: UInt64, length: Int
    ) -> [UInt8]? {
        var output = [UInt8](repeating: 0, count: length)
        // 128 * r * (N + p + 2) bytes plus headroom.
        let maxmem = 128 * r * (n + p + 2) + 1024 * 1024
        // A zero byte keeps the pointer valid for an empty password.
        let passwordStorage = password + [0]
        let status = passwordStorage.withUnsafeBufferPointer { passwordBuffer in
            salt.withUnsafeBufferPointer { saltBytes in
                output.withUnsafeMutableBufferPointer { outputBytes in
                    EVP_PBE_scrypt(
                        UnsafeRawPointer(passwordBuffer.baseAddress!).assumingMemoryBound(to: CChar.self),
                        password.count, saltBytes.baseAddress, saltBytes.count, n, r, p, maxmem,
                        outputBytes.baseAddress, length)
                }
            }
        }
        return status == 1 ? output : nil
    }

    /// Compares in time independent of where the inputs differ (`CRYPTO_memcmp`).
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBufferPointer { aBytes in
            b.withUnsafeBufferPointer { bBytes in
                CRYPTO_memcmp(aBytes.baseAddress, bBytes.baseAddress, a.count) == 0
            }
        }
    }
}
