import Hummingbird
import SwitchboardCore

/// Checks the server API key of a request (`Authorization: Bearer <key>`).
///
/// Keys are compared as SHA-256 digests with `CRYPTO_memcmp`, against every
/// configured key without stopping early, so neither the position of the
/// first wrong byte nor the key's length shows in the timing. User access
/// tokens are never keys, so they are refused here like any wrong key.
struct ServerAPIAuthenticator: Sendable {
    private let digests: [[UInt8]]

    init(keys: [String]) {
        digests = keys.filter { !$0.isEmpty }.map { Crypto.sha256(Array($0.utf8)) }
    }

    /// Whether `key` is one of the configured keys.
    func accepts(_ key: String) -> Bool {
        let digest = Crypto.sha256(Array(key.utf8))
        var found = false
        for candidate in digests where Crypto.constantTimeEquals(candidate, digest) { found = true }
        return found
    }

    /// Passes a request with a valid key; 401 `unauthorized` otherwise.
    func require(_ request: Request) throws(SwitchboardError) {
        guard let key = Authenticator.bearerToken(request.headers[.authorization]), accepts(key) else {
            throw SwitchboardError(.unauthorized, "a valid server API key is required (Authorization: Bearer <key>)")
        }
    }
}
