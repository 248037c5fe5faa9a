import Foundation

/// The claims Switchboard reads from and writes to an access token.
public struct AccessClaims: Sendable, Hashable {
    public var subject: String
    public var issuedAt: Int
    public var expiresAt: Int
    public var issuer: String?
    public var audience: [String]
    public var notBefore: Int?
    /// `sid`: the session (refresh-token family) the token was issued for; nil in external tokens.
    public var sessionID: String?

    public init(
        subject: String, issuedAt: Int, expiresAt: Int, issuer: String?, audience: [String], notBefore: Int? = nil,
        sessionID: String? = nil
    ) {
        self.sessionID = sessionID
        self.subject = subject
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.issuer = issuer
        self.audience = audience
        self.notBefore = notBefore
    }
}

/// JSON Web Tokens signed with HS256 (RFC 7519 / RFC 7515), HMAC from libcrypto.
///
/// Verification refuses every `alg` but HS256 (so `none` too), compares the
/// signature in constant time, and checks `exp`, `nbf`, `iat`, `iss`, `aud`.
public enum JWT {
    /// Signs `claims` with `key`.
    public static func sign(_ claims: AccessClaims, key: [UInt8], keyID: String? = nil) -> String {
        var payload: [String: Any] = ["sub": claims.subject, "iat": claims.issuedAt, "exp": claims.expiresAt]
        if let issuer = claims.issuer { payload["iss"] = issuer }
        if claims.audience.count == 1 {
            payload["aud"] = claims.audience[0]
        } else if !claims.audience.isEmpty {
            payload["aud"] = claims.audience
        }
        if let notBefore = claims.notBefore { payload["nbf"] = notBefore }
        if let sessionID = claims.sessionID { payload["sid"] = sessionID }
        // Without a key id, the header `verify` recognises without parsing it.
        let headerPart = keyID.map { Base64.urlEncode(json(["alg": "HS256", "typ": "JWT", "kid": $0])) } ?? plainHeader
        let payloadPart = Base64.urlEncode(json(payload))
        let signingInput = headerPart + "." + payloadPart
        let signature = Crypto.hmacSHA256(key: key, message: Array(signingInput.utf8))
        return signingInput + "." + Base64.urlEncode(signature)
    }

    private static func json(_ object: [String: Any]) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    /// `{"alg":"HS256","typ":"JWT"}`, base64url: the header of every token `sign` makes without a key id.
    static let plainHeader = Base64.urlEncode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))

    /// The unverified `iss` of a token, to pick the verifying key. Never trust it otherwise.
    public static func unverifiedIssuer(_ token: String) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = Base64.urlDecode(parts[1]),
            let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any]
        else { return nil }
        return object["iss"] as? String
    }

    /// Verifies the token and returns its claims.
    /// - Throws: `token_expired` for an expired token, `unauthorized` for anything else wrong.
    public static func verify(
        _ token: String, key: [UInt8], issuer: String?, audience: String?, now: Int, leeway: Int
    ) throws(SwitchboardError) -> AccessClaims {
        let invalid = SwitchboardError(.unauthorized, "invalid access token")
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, token.utf8.count < 8192,
            let payloadBytes = Base64.urlDecode(parts[1]),
            let signature = Base64.urlDecode(parts[2])
        else { throw invalid }
        // The header `sign` writes is read without parsing it (every token this node issues has it).
        if parts[0] != plainHeader {
            guard let headerBytes = Base64.urlDecode(parts[0]),
                let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any]
            else { throw invalid }
            guard header["alg"] as? String == "HS256" else {
                throw SwitchboardError(.unauthorized, "unsupported token algorithm (only HS256 is accepted)")
            }
            if let typ = header["typ"] as? String, typ.uppercased() != "JWT" { throw invalid }
        }
        let signingInput = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        let expected = Crypto.hmacSHA256(key: key, message: signingInput)
        guard Crypto.constantTimeEquals(expected, signature) else {
            throw SwitchboardError(.unauthorized, "invalid token signature")
        }
        guard let payload = try? JSONSerialization.jsonObject(with: Data(payloadBytes)) as? [String: Any],
            let subject = payload["sub"] as? String, !subject.isEmpty,
            let expiresAt = intClaim(payload["exp"])
        else { throw SwitchboardError(.unauthorized, "token lacks sub or exp") }
        if now > expiresAt + leeway { throw SwitchboardError(.tokenExpired, "access token expired") }
        let notBefore = intClaim(payload["nbf"])
        if let notBefore, now + leeway < notBefore { throw SwitchboardError(.unauthorized, "token not yet valid") }
        let issuedAt = intClaim(payload["iat"]) ?? now
        if issuedAt > now + leeway { throw SwitchboardError(.unauthorized, "token issued in the future") }
        let tokenIssuer = payload["iss"] as? String
        if let issuer, tokenIssuer != issuer { throw SwitchboardError(.unauthorized, "wrong token issuer") }
        var audiences: [String] = []
        if let single = payload["aud"] as? String { audiences = [single] }
        if let many = payload["aud"] as? [String] { audiences = many }
        if let audience, !audiences.contains(audience) {
            throw SwitchboardError(.unauthorized, "wrong token audience")
        }
        return AccessClaims(
            subject: subject, issuedAt: issuedAt, expiresAt: expiresAt, issuer: tokenIssuer, audience: audiences,
            notBefore: notBefore, sessionID: payload["sid"] as? String)
    }

    private static func intClaim(_ value: Any?) -> Int? {
        if let number = value as? Int { return number }
        if let number = value as? Double, number.isFinite, abs(number) < 1e15 { return Int(number) }
        return nil
    }
}
