import Foundation
import NIOHTTP1
import SwitchboardProtocol

extension SwitchboardClient {
    /// One REST call with the user's bearer token: the token the `token`
    /// closure gave last (for the WebSocket or an earlier call), asked
    /// again once when the server answers 401 (`token_expired`, say).
    func api(
        _ method: HTTPMethod, _ path: String, query: [(String, String?)] = [], body: [String: Any]? = nil
    ) async throws -> [String: Any] {
        let json = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        let cached = lastToken
        let token: String
        if let cached { token = cached } else { token = try await freshToken() }
        do {
            return try await rest.call(method, path, query: query, json: json, token: token).object
        } catch let error as ChatError where error.code == .tokenExpired || error.code == .unauthorized {
            guard cached != nil else { throw error }
            let renewed = try await freshToken()
            guard renewed != token else { throw error }
            return try await rest.call(method, path, query: query, json: json, token: renewed).object
        }
    }

    /// Asks the `token` closure and keeps what it gives for the next calls.
    func freshToken() async throws -> String {
        let token = try await configuration.token()
        lastToken = token
        return token
    }

    /// Decodes `object[key]` as `T` (a wire type of SwitchboardProtocol).
    static func field<T: Decodable>(_ type: T.Type, _ object: [String: Any], _ key: String) throws -> T {
        try decode(type, object[key])
    }

    /// `{"<key>": [...], "next": "<cursor>" | null}` as a page.
    static func page<T: Decodable & Sendable>(_ type: T.Type, _ object: [String: Any], _ key: String) throws -> ListPage<T> {
        ListPage(items: try decode([T].self, object[key]), next: object["next"] as? String)
    }
}
