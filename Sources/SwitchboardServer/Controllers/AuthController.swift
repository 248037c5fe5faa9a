import Hummingbird
import SwitchboardCore

/// `/api/v1/auth/*`: register, login, refresh, logout.
struct AuthController {
    let switchboard: Switchboard
    /// Where the client address of the rate limits comes from (the peer, or a trusted proxy's header).
    let clientAddress: ClientAddressResolver

    struct RegisterBody: Decodable {
        var username: String
        var password: String
        var displayName: String?
    }

    struct LoginBody: Decodable {
        var username: String
        var password: String
    }

    struct RefreshBody: Decodable {
        var refreshToken: String
    }

    struct AuthAnswer: Encodable {
        var user: User
        var accessToken: String
        var refreshToken: String
        var expiresIn: Int
    }

    func register(on group: RouterGroup<SwitchboardRequestContext>) {
        let limits = switchboard.configuration.limits
        group.post("auth/register") { request, context in
            var request = request
            let body = try await request.decodeJSON(RegisterBody.self, limit: limits.httpBodySize)
            let address = clientAddress.resolve(peer: context.remoteAddress?.ipAddress, headers: request.headers)
            try await switchboard.rateLimiter.enforce("register:\(address)", rule: .perMinute(limits.registrationsPerMinute))
            let user = try await switchboard.accounts.register(
                username: body.username, password: body.password, displayName: body.displayName)
            let tokens = try await switchboard.tokens.issue(for: user.id)
            return try JSONCoding.response(answer(user, tokens), status: .created)
        }
        group.post("auth/login") { request, context in
            var request = request
            let body = try await request.decodeJSON(LoginBody.self, limit: limits.httpBodySize)
            // The name goes into a Redis key below: check it first.
            try switchboard.accounts.validateUsername(body.username)
            try switchboard.accounts.validatePasswordSize(body.password)
            let address = clientAddress.resolve(peer: context.remoteAddress?.ipAddress, headers: request.headers)
            // Every attempt costs a full scrypt: one budget per address across
            // usernames (spraying), then one per (username, address) (guessing).
            try await switchboard.rateLimiter.enforce("login:\(address)", rule: .perMinute(limits.loginPerAddressPerMinute))
            try await switchboard.rateLimiter.enforce(
                "login:\(body.username.lowercased()):\(address)", rule: .perMinute(limits.loginPerMinute))
            let user = try await switchboard.accounts.login(username: body.username, password: body.password)
            let tokens = try await switchboard.tokens.issue(for: user.id)
            return try JSONCoding.response(answer(user, tokens))
        }
        group.post("auth/refresh") { request, _ in
            var request = request
            let body = try await request.decodeJSON(RefreshBody.self, limit: limits.httpBodySize)
            let (userID, tokens) = try await switchboard.tokens.refresh(body.refreshToken)
            guard let user = try await switchboard.accounts.user(id: userID) else {
                throw SwitchboardError(.unauthorized, "the user of this token no longer exists")
            }
            return try JSONCoding.response(answer(user, tokens))
        }
        group.post("auth/logout") { request, _ in
            var request = request
            let body = try await request.decodeJSON(RefreshBody.self, limit: limits.httpBodySize)
            try await switchboard.tokens.logout(body.refreshToken)
            return Response(status: .noContent)
        }
    }

    private func answer(_ user: User, _ tokens: TokenPair) -> AuthAnswer {
        AuthAnswer(user: user, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, expiresIn: tokens.expiresIn)
    }
}
