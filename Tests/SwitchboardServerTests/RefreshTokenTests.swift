import Foundation
import RedisClient
import SwitchboardCore
import Testing

/// Issue 12, item 14: the refresh-token reuse check reads and marks a token in
/// one script, so a key that expires meanwhile is never recreated without a TTL.
@Suite("Refresh token check")
struct RefreshTokenTests {
    @Test func theRefreshCheckNeverRecreatesAnExpiredToken() async throws {
        let node = try await TestNode.start()
        let key = node.keys.refreshToken(String(repeating: "0", count: 64))
        let reply = try await node.switchboard.scripts.evaluate("refresh_use", keys: [key], arguments: [])
        #expect(reply.array?.isEmpty == true)
        #expect(try await node.redis.send("EXISTS", key).int == 0)
        // A token whose key is gone (expired) is refused and stays gone.
        let account = try await node.register()
        let digest = Base64.hex(Crypto.sha256(Array(account.refreshToken.utf8)))
        _ = try await node.redis.send("DEL", node.keys.refreshToken(digest))
        #expect(try await node.request("POST", "/api/v1/auth/refresh", json: ["refreshToken": account.refreshToken]).status == 401)
        #expect(try await node.redis.send("EXISTS", node.keys.refreshToken(digest)).int == 0)
        // The token's TTL survives the check.
        let fresh = try await node.register()
        let freshKey = node.keys.refreshToken(Base64.hex(Crypto.sha256(Array(fresh.refreshToken.utf8))))
        let used = try await node.switchboard.scripts.evaluate("refresh_use", keys: [freshKey], arguments: [])
        #expect(used.array?.count == 3)
        #expect((try await node.redis.send("TTL", freshKey).int ?? -1) > 0)
        await node.stop()
    }
}
