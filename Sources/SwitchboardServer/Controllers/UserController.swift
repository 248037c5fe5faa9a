import Hummingbird
import SwitchboardCore

/// `/api/v1/users*`: profiles and search.
struct UserController {
    let switchboard: Switchboard
    let authenticator: Authenticator

    struct ProfileBody: Decodable {
        var displayName: String?
        var bio: String?
        var avatar: String?
    }

    struct DeleteBody: Decodable {
        var password: String
    }

    struct UserAnswer: Encodable {
        var user: User
    }

    struct UserWithPresence: Encodable {
        var user: User
        var presence: Presence
    }

    struct UsersAnswer: Encodable {
        var users: [User]
    }

    func register(on group: RouterGroup<SwitchboardRequestContext>) {
        let limits = switchboard.configuration.limits
        group.get("users/me") { request, _ in
            let id = try await authenticator.userID(request)
            guard let user = try await switchboard.accounts.user(id: id) else { throw SwitchboardError.notFound("user not found") }
            return try JSONCoding.response(UserAnswer(user: user))
        }
        group.patch("users/me") { request, _ in
            let id = try await authenticator.userID(request)
            var request = request
            let body = try await request.decodeJSON(ProfileBody.self, limit: limits.httpBodySize)
            let user = try await switchboard.accounts.update(
                id: id, .init(displayName: body.displayName, bio: body.bio, avatar: body.avatar))
            return try JSONCoding.response(UserAnswer(user: user))
        }
        group.delete("users/me") { request, _ in
            let id = try await authenticator.userID(request)
            var request = request
            let body = try await request.decodeJSON(DeleteBody.self, limit: limits.httpBodySize)
            try await switchboard.deleteAccount(user: id, password: body.password)
            return Response(status: .noContent)
        }
        group.get("users/:id") { request, context in
            _ = try await authenticator.userID(request)
            let id = try context.parameters.require("id")
            guard let found = try await switchboard.accounts.user(id: id) else { throw SwitchboardError.notFound("user not found") }
            let user = try await switchboard.posts.withCounts(found)
            let presence = try await switchboard.presence(of: id)
            return try JSONCoding.response(UserWithPresence(user: user, presence: presence))
        }
        group.get("users") { request, _ in
            _ = try await authenticator.userID(request)
            let query = request.uri.queryParameters
            let prefix = query["q"].map(String.init) ?? ""
            let limit = try Self.limit(query["limit"].map(String.init), default: 20, maximum: 100)
            let users = try await switchboard.accounts.search(prefix: prefix, limit: limit)
            return try JSONCoding.response(UsersAnswer(users: users))
        }
    }

    /// Parses a `limit` query parameter: 1...maximum, 400 otherwise.
    static func limit(_ text: String?, default value: Int, maximum: Int) throws(SwitchboardError) -> Int {
        guard let text else { return value }
        guard let number = Int(text), number >= 1 else { throw .invalid("limit must be a positive integer") }
        return min(number, maximum)
    }
}
