import Foundation
import Hummingbird
import SwitchboardCore

/// Reads the bearer token of a request and answers the user id it proves.
struct Authenticator: Sendable {
    let switchboard: Switchboard

    /// The bearer token of the `Authorization` header, if any.
    static func bearerToken(_ value: String?) -> String? {
        guard let value else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// Verifies a token and returns its user id; creates the record of an
    /// external user on first sight.
    func userID(token: String) async throws(SwitchboardError) -> String {
        let claims = try await switchboard.tokens.verify(token)
        if switchboard.tokens.isExternal(claims) {
            _ = try await switchboard.accounts.ensureExternalUser(id: claims.subject)
        }
        return claims.subject
    }

    /// The authenticated user of a request, or 401 (also for an ended session; 403 `banned` for a banned user).
    func userID(_ request: Request) async throws(SwitchboardError) -> String {
        try await session(request).user
    }

    /// The authenticated user and the session (`sid`) of their token.
    func session(_ request: Request) async throws(SwitchboardError) -> (user: String, session: String?) {
        guard let token = Self.bearerToken(request.headers[.authorization]) else {
            throw SwitchboardError(.unauthorized, "missing bearer token")
        }
        let claims = try await switchboard.tokens.verify(token)
        if switchboard.tokens.isExternal(claims) {
            _ = try await switchboard.accounts.ensureExternalUser(id: claims.subject)
        }
        try await switchboard.accounts.requireNotBanned(claims.subject, session: claims.sessionID)
        return (claims.subject, claims.sessionID)
    }
}
