import Foundation

/// One session of a user: a refresh-token family, as listed by
/// `GET /api/v1/auth/sessions` (kept in `sb:user:{U}:sessions`).
public struct SessionInfo: Codable, Sendable, Hashable {
    /// The family id, also the `sid` claim of its access tokens.
    public var id: String
    /// When the session began (ms): register, login, or tokens from the server API.
    public var created: Int
    /// When a token of the session was last issued (ms): the start or the latest refresh.
    public var lastUsed: Int?
    /// The `User-Agent` of the request that began it.
    public var userAgent: String?
    /// Whether the listing request came with this session's token (set when listing).
    public var current: Bool?

    public init(id: String, created: Int, userAgent: String?) {
        self.id = id
        self.created = created
        self.lastUsed = created
        self.userAgent = userAgent.map { String($0.prefix(256)) }
    }

    init?(json: String) {
        guard let value = try? JSONDecoder().decode(SessionInfo.self, from: Data(json.utf8)) else { return nil }
        self = value
    }

    var json: String {
        var stored = self
        stored.current = nil
        return String(decoding: (try? JSONEncoder().encode(stored)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
