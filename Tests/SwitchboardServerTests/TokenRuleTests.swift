import Foundation
import RedisClient
import SwitchboardCore
import SwitchboardServer
import Testing

/// Issue 12, item 10: strict base64url, namespaced external users, the
/// external secret's minimum.
@Suite("Token rules")
struct TokenRuleTests {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

    /// The same signature bytes spelled with a set trailing bit (accepted by a lax decoder).
    static func respell(_ token: String) -> String {
        var characters = Array(token)
        let last = characters.removeLast()
        let value = alphabet.firstIndex(of: last)!
        characters.append(alphabet[value ^ 1])
        return String(characters)
    }

    @Test func base64urlIsDecodedStrictly() {
        #expect(Base64.urlDecode("AQ") == [1])
        #expect(Base64.urlDecode("AR") == nil, "trailing bits set")
        #expect(Base64.urlDecode("AQI") == [1, 2])
        #expect(Base64.urlDecode("AQJ") == nil, "trailing bits set")
        #expect(Base64.urlDecode("AQ==") == nil, "padding")
        #expect(Base64.urlDecode("AQIDB") == nil, "impossible length")
        #expect(Base64.urlDecode("AQ+/") == nil, "standard alphabet")
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.urlDecode(Base64.urlEncode(bytes)) == bytes)
        }
    }

    @Test func aTokenHasExactlyOneSpelling() async throws {
        var configuration = TestNode.configuration()
        configuration.auth.jwtSecret = "a-test-secret-that-is-at-least-32-bytes-long"
        let node = try await TestNode.start(configuration)
        let account = try await node.register()
        #expect(try await node.request("GET", "/api/v1/users/me", token: account.accessToken).status == 200)
        let respelled = Self.respell(account.accessToken)
        #expect(respelled != account.accessToken)
        let refused = try await node.request("GET", "/api/v1/users/me", token: respelled)
        #expect(refused.status == 401)
        #expect(refused.errorCode == "unauthorized")
        #expect(try await node.request("GET", "/api/v1/users/me", token: account.accessToken + "=").status == 401)
        let live = try await LiveClient.connect(node)
        let reply = try await live.command(["op": "auth", "token": respelled])
        #expect((reply["error"] as? [String: Any])?["code"] as? String == "unauthorized")
        await live.close()
        await node.stop()
    }

    @Test func externalTokensCannotNameANativeUser() async throws {
        var configuration = TestNode.configuration()
        let backend = "backend-secret-backend-secret-backend-secret"
        configuration.auth.externalSecret = backend
        configuration.auth.externalIssuer = "my-backend"
        let node = try await TestNode.start(configuration)
        let victim = try await node.register()
        let now = Int(Date().timeIntervalSince1970)
        let forged = JWT.sign(
            AccessClaims(subject: victim.id, issuedAt: now, expiresAt: now + 600, issuer: "my-backend", audience: []),
            key: Array(backend.utf8))
        let me = try await node.request("GET", "/api/v1/users/me", token: forged)
        #expect(me.status == 200)
        let user = try #require(me.json["user"] as? [String: Any])
        #expect(user["id"] as? String == "x_" + victim.id)
        #expect(user["username"] as? String != victim.username)
        // The victim's conversations stay out of reach.
        let other = try await node.register()
        let dm = try await node.create(["kind": "direct", "with": other.id], as: victim)["id"] as! String
        let read = try await node.request("GET", "/api/v1/conversations/\(dm)/messages", token: forged)
        #expect(read.errorCode == "not_member")
        let live = try await LiveClient.connect(node)
        let auth = try await live.command(["op": "auth", "token": forged])
        #expect((auth["user"] as? [String: Any])?["id"] as? String == "x_" + victim.id)
        await live.close()
        await node.stop()
    }

    @Test func theExternalSecretNeedsThirtyTwoBytes() {
        var configuration = TestNode.configuration()
        configuration.auth.externalSecret = "short-backend-secret"
        configuration.auth.externalIssuer = "my-backend"
        #expect(throws: SwitchboardError.self) { try SwitchboardNode(configuration: configuration) }
        configuration.auth.externalSecret = String(repeating: "s", count: 32)
        #expect(throws: Never.self) { try SwitchboardNode(configuration: configuration) }
    }
}
