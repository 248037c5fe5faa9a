import Foundation
import SwitchboardCore
import Testing

/// Issue 12, item 13: registration refuses the most common passwords, ignoring case.
@Suite("Password blocklist")
struct PasswordPolicyTests {
    @Test func commonPasswordsAreRefusedAtRegistration() async throws {
        let node = try await TestNode.start()
        for common in ["Password1", "P@SSW0RD", "Qwertyuiop", "iloveyou123", "11111111"] {
            let result = try await node.request(
                "POST", "/api/v1/auth/register", json: ["username": "pw\(RandomID.make(length: 8))", "password": common])
            #expect(result.status == 400, "\(common)")
            #expect(result.errorCode == "invalid_request", "\(common)")
            let message = (result.json["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("password") && message.contains("common"), "\(message)")
        }
        let fine = try await node.request(
            "POST", "/api/v1/auth/register", json: ["username": "pw\(RandomID.make(length: 8))", "password": "vX9#kq2!mTz"])
        #expect(fine.status == 201)
        await node.stop()
    }
}
