import RedisClient
import Synchronization

/// What register, login and refresh answer.
public struct TokenPair: Sendable, Hashable {
    public var accessToken: String
    public var refreshToken: String
    /// Seconds until the access token expires.
    public var expiresIn: Int
}

/// Access tokens (JWT HS256) and rotating refresh tokens.
///
/// Refresh tokens are 32 random bytes, base64url; Redis stores only their
/// SHA-256, in `sb:refresh:<hex>` (TTL) with user and family. Refreshing marks
/// the old token used (`refresh_use.lua`: read and `HINCRBY` in one step); presenting a used token again
/// revokes its whole family (`sb:refresh-family:<id>`).
public final class TokenService: Sendable {
    let redis: RedisClient
    let scripts: RedisScriptRegistry
    let keys: KeyLayout
    let clock: WallClock
    let configuration: AuthConfiguration
    private let signingKey = Mutex<[UInt8]?>(nil)

    init(redis: RedisClient, scripts: RedisScriptRegistry, keys: KeyLayout, clock: WallClock, configuration: AuthConfiguration) {
        self.redis = redis
        self.scripts = scripts
        self.keys = keys
        self.clock = clock
        self.configuration = configuration
        if let secret = configuration.jwtSecret { signingKey.withLock { $0 = Array(secret.utf8) } }
    }

    /// Whether a signing key is at hand.
    public var hasKey: Bool { signingKey.withLock { $0 != nil } }

    /// Loads the shared signing key: generated once by whichever node comes
    /// first (`SET NX`), then read by all.
    public func loadKey() async throws(SwitchboardError) {
        if hasKey { return }
        let candidate = Base64.encode(RandomID.bytes(32))
        _ = try await mapRedis { try await redis.send("SET", keys.jwtSigningKey, candidate, "NX") }
        let stored = try await mapRedis { try await redis.send("GET", keys.jwtSigningKey) }.string
        guard let stored, let key = Base64.decode(stored), key.count >= 32 else {
            throw SwitchboardError(.internalError, "the shared signing key in Redis is unreadable")
        }
        signingKey.withLock { $0 = key }
    }

    private func key() async throws(SwitchboardError) -> [UInt8] {
        if let key = signingKey.withLock({ $0 }) { return key }
        try await loadKey()
        return signingKey.withLock { $0 }!
    }

    /// A signed access token for `userID`.
    public func accessToken(for userID: String, session: String? = nil) async throws(SwitchboardError) -> (token: String, expiresIn: Int) {
        let now = clock.seconds
        let claims = AccessClaims(
            subject: userID, issuedAt: now, expiresAt: now + configuration.accessTokenTTL,
            issuer: configuration.issuer, audience: [configuration.audience], sessionID: session)
        return (JWT.sign(claims, key: try await key()), configuration.accessTokenTTL)
    }

    /// Verifies an access token: ours, or one from the app's backend when configured.
    public func verify(_ token: String) async throws(SwitchboardError) -> AccessClaims {
        if let claims = try verify(token, key: signingKey.withLock({ $0 })) { return claims }
        return try verify(token, key: try await key())!
    }

    /// `verify` without waiting, for an event loop (it is CPU only): nil
    /// while the signing key is not loaded yet (then call `verify`).
    public func verifyNow(_ token: String) throws(SwitchboardError) -> AccessClaims? {
        try verify(token, key: signingKey.withLock { $0 })
    }

    /// nil: the token is ours and `key` is not known yet.
    private func verify(_ token: String, key: [UInt8]?) throws(SwitchboardError) -> AccessClaims? {
        let now = clock.seconds
        if let externalSecret = configuration.externalSecret, let externalIssuer = configuration.externalIssuer,
            JWT.unverifiedIssuer(token) == externalIssuer
        {
            var claims = try JWT.verify(
                token, key: Array(externalSecret.utf8), issuer: externalIssuer,
                audience: configuration.externalAudience, now: now, leeway: configuration.leeway)
            claims.subject = try Self.externalUserID(subject: claims.subject)
            return claims
        }
        guard let key else { return nil }
        return try JWT.verify(
            token, key: key, issuer: configuration.issuer, audience: configuration.audience, now: now, leeway: configuration.leeway)
    }

    /// Prefix of the ids of users from external tokens. Native ids start
    /// with `u_`, so no external `sub` can name a native user.
    public static let externalIDPrefix = "x_"

    /// The user id of an external token's `sub`: `x_` + sub. The sub must be
    /// 1–128 bytes without `{` or `}` (the id becomes a hash tag).
    public static func externalUserID(subject: String) throws(SwitchboardError) -> String {
        guard !subject.isEmpty, subject.utf8.count <= 128, !subject.contains("{"), !subject.contains("}") else {
            throw SwitchboardError(.unauthorized, "the token's sub is not a usable user id (1-128 bytes, no braces)")
        }
        return externalIDPrefix + subject
    }

    /// Whether a verified token came from the app's own backend.
    public func isExternal(_ claims: AccessClaims) -> Bool {
        configuration.externalIssuer != nil && claims.issuer == configuration.externalIssuer
            && claims.issuer != configuration.issuer
    }

    /// A new access token and the first refresh token of a new family.
    public func issue(for userID: String, userAgent: String? = nil) async throws(SwitchboardError) -> TokenPair {
        let family = RandomID.make(length: 16)
        return try await issue(for: userID, family: family, session: SessionInfo(id: family, created: clock.milliseconds, userAgent: userAgent))
    }

    private func issue(for userID: String, family: String, session: SessionInfo) async throws(SwitchboardError) -> TokenPair {
        let refresh = Base64.urlEncode(RandomID.bytes(32))
        let ttl = configuration.refreshTokenTTL
        var session = session
        session.lastUsed = clock.milliseconds
        let replies = try await mapRedis {
            try await redis.pipeline([
                RedisCommand("HSET", [keys.refreshToken(Self.digest(refresh)), "user", userID, "family", family, "used", 0]),
                RedisCommand("EXPIRE", [keys.refreshToken(Self.digest(refresh)), ttl]),
                RedisCommand("HSET", [keys.sessions(userID), family, session.json]),
                RedisCommand("EXPIRE", [keys.sessions(userID), ttl]),
            ])
        }
        if let error = replies.first(where: { $0.errorMessage != nil }) {
            throw SwitchboardError(redis: RedisError.server(error.errorMessage!))
        }
        let access = try await accessToken(for: userID, session: family)
        return TokenPair(accessToken: access.token, refreshToken: refresh, expiresIn: access.expiresIn)
    }

    static func digest(_ token: String) -> String { Base64.hex(Crypto.sha256(Array(token.utf8))) }

    /// Rotates a refresh token: the old one stops working at once; a second
    /// use of it revokes its family. Returns the user id and the new pair.
    public func refresh(_ token: String) async throws(SwitchboardError) -> (userID: String, tokens: TokenPair) {
        let invalid = SwitchboardError(.unauthorized, "invalid refresh token")
        guard !token.isEmpty, token.utf8.count <= 256 else { throw invalid }
        let key = keys.refreshToken(Self.digest(token))
        // Read and mark used in one script: a key that expires between a read
        // and a separate HINCRBY would come back without a TTL.
        let entry = try await mapRedis { try await scripts.evaluate("refresh_use", keys: [key], arguments: []) }.array ?? []
        guard entry.count == 3, let userID = entry[0].string, let family = entry[1].string, let uses = entry[2].int else {
            throw invalid
        }
        let revoked = try await mapRedis { try await redis.send("EXISTS", keys.refreshFamily(family)) }.int == 1
        if revoked { throw invalid }
        if uses != 1 {
            // A rotated token came back: someone holds a stolen copy. Revoke the family.
            try await revoke(family: family)
            throw invalid
        }
        let stored = try await mapRedis { try await redis.send("HGET", keys.sessions(userID), family) }.string
        let session = stored.flatMap(SessionInfo.init(json:)) ?? SessionInfo(id: family, created: clock.milliseconds, userAgent: nil)
        return (userID, try await issue(for: userID, family: family, session: session))
    }

    /// The user a refresh token was issued to, without using it (nil: unknown).
    public func owner(of token: String) async throws(SwitchboardError) -> String? {
        guard !token.isEmpty, token.utf8.count <= 256 else { return nil }
        return try await mapRedis { try await redis.send("HGET", keys.refreshToken(Self.digest(token)), "user") }.string
    }

    /// Logout: revokes the family of the given refresh token (unknown tokens are ignored).
    public func logout(_ token: String) async throws(SwitchboardError) {
        guard !token.isEmpty, token.utf8.count <= 256 else { return }
        let entry =
            try await mapRedis { try await redis.send("HGETALL", keys.refreshToken(Self.digest(token))) }
            .stringPairs ?? [:]
        if let family = entry["family"] { try await revoke(family: family) }
    }

    func revoke(family: String) async throws(SwitchboardError) {
        _ = try await mapRedis {
            try await redis.send("SET", keys.refreshFamily(family), "revoked", "EX", configuration.refreshTokenTTL)
        }
    }
}
