import Foundation
import RedisClient
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@Suite("Accounts and tokens over HTTP")
struct AuthTests {
    @Test func registerLoginAndProfileShapes() async throws {
        let node = try await TestNode.start()
        let name = "Alice\(RandomID.make(length: 6))"
        let registered = try await node.request(
            "POST", "/api/v1/auth/register",
            json: ["username": name, "password": "s3cret-pass", "displayName": "Alice A.", "extra": "ignored"])
        #expect(registered.status == 201)
        let user = try #require(registered.json["user"] as? [String: Any])
        #expect(user["username"] as? String == name)
        #expect(user["displayName"] as? String == "Alice A.")
        #expect((user["id"] as? String)?.isEmpty == false)
        #expect(user["createdAt"] is Int)
        #expect(user["password"] == nil)
        #expect(registered.json["expiresIn"] as? Int == 900)
        #expect((registered.json["refreshToken"] as? String)?.count == 43)
        let access = try #require(registered.json["accessToken"] as? String)

        // Login is case-insensitive on the name and answers the same shape.
        let login = try await node.request(
            "POST", "/api/v1/auth/login", json: ["username": name.uppercased(), "password": "s3cret-pass"])
        #expect(login.status == 200)
        #expect((login.json["user"] as? [String: Any])?["id"] as? String == user["id"] as? String)
        let wrong = try await node.request("POST", "/api/v1/auth/login", json: ["username": name, "password": "nope-nope"])
        #expect(wrong.status == 401)
        #expect(wrong.errorCode == "unauthorized")
        let unknown = try await node.request("POST", "/api/v1/auth/login", json: ["username": "nobody-here", "password": "whatever1"])
        #expect(unknown.status == 401)

        let me = try await node.request("GET", "/api/v1/users/me", token: access)
        #expect(me.status == 200)
        #expect((me.json["user"] as? [String: Any])?["displayName"] as? String == "Alice A.")
        let patched = try await node.request(
            "PATCH", "/api/v1/users/me", json: ["bio": "hello", "avatar": "https://x/a.png"], token: access)
        #expect(patched.status == 200)
        let patchedUser = patched.json["user"] as? [String: Any]
        #expect(patchedUser?["bio"] as? String == "hello")
        #expect(patchedUser?["avatar"] as? String == "https://x/a.png")
        #expect(patchedUser?["displayName"] as? String == "Alice A.")

        let other = try await node.register()
        let seen = try await node.request("GET", "/api/v1/users/\(user["id"] as! String)", token: other.accessToken)
        #expect(seen.status == 200)
        let presence = try #require(seen.json["presence"] as? [String: Any])
        #expect(presence["status"] as? String == "offline")
        #expect(presence["lastSeen"] is NSNull)
        let missing = try await node.request("GET", "/api/v1/users/u_nothere", token: other.accessToken)
        #expect(missing.status == 404)
        #expect(missing.errorCode == "not_found")

        // The stored hash is scrypt, never the password.
        let hash = try await node.redis.send("HGETALL", node.keys.user(user["id"] as! String)).stringPairs ?? [:]
        #expect(hash["password"]?.hasPrefix("scrypt$") == true)
        #expect(hash.values.contains { $0.contains("s3cret-pass") } == false)
        await node.stop()
    }

    @Test func validationErrorsNameTheField() async throws {
        let node = try await TestNode.start()
        let cases: [(Any, String)] = [
            (["password": "long-enough"], "username"),
            (["username": 42, "password": "long-enough"], "username"),
            (["username": "ab", "password": "long-enough"], "username"),
            (["username": "bad name!", "password": "long-enough"], "username"),
            (["username": "okname\(RandomID.make(length: 4))", "password": "short"], "password"),
            ([1, 2, 3], "object"),
        ]
        for (body, word) in cases {
            let result = try await node.request("POST", "/api/v1/auth/register", json: body)
            #expect(result.status == 400, "\(body)")
            #expect(result.errorCode == "invalid_request")
            let message = (result.json["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains(word), "\(message) should name \(word)")
        }
        let malformed = try await node.request("POST", "/api/v1/auth/login", rawBody: Data("{not json".utf8))
        #expect(malformed.status == 400)
        #expect(malformed.errorCode == "invalid_request")
        let huge = try await node.request(
            "POST", "/api/v1/auth/login", rawBody: Data(repeating: UInt8(ascii: "a"), count: 1024 * 1024 + 10))
        #expect(huge.status == 413)
        #expect(huge.errorCode == "too_large")
        let noToken = try await node.request("GET", "/api/v1/users/me")
        #expect(noToken.status == 401)
        #expect(noToken.errorCode == "unauthorized")
        #expect(noToken.headers["content-type"]?.contains("application/json") == true)
        await node.stop()
    }

    @Test func concurrentRegistrationOfOneNameHasOneWinner() async throws {
        let node = try await TestNode.start()
        let name = "race\(RandomID.make(length: 6))"
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<10 {
                // Different letter cases: uniqueness ignores case.
                let variant = index % 2 == 0 ? name : name.uppercased()
                group.addTask {
                    try await node.request("POST", "/api/v1/auth/register", json: ["username": variant, "password": "race-pass-\(index)"]).status
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 201 }.count == 1)
        #expect(statuses.filter { $0 == 409 }.count == 9)
        let duplicate = try await node.request("POST", "/api/v1/auth/register", json: ["username": name, "password": "race-pass-x"])
        #expect(duplicate.errorCode == "username_taken")
        await node.stop()
    }

    @Test func refreshRotatesAndReuseRevokesTheFamily() async throws {
        let node = try await TestNode.start()
        let account = try await node.register()
        let first = try await node.request("POST", "/api/v1/auth/refresh", json: ["refreshToken": account.refreshToken])
        #expect(first.status == 200)
        let second = try #require(first.json["refreshToken"] as? String)
        #expect(second != account.refreshToken)
        #expect((first.json["user"] as? [String: Any])?["id"] as? String == account.id)
        // The rotated token is dead...
        let reuse = try await node.request("POST", "/api/v1/auth/refresh", json: ["refreshToken": account.refreshToken])
        #expect(reuse.status == 401)
        #expect(reuse.errorCode == "unauthorized")
        // ...and its reuse revoked the whole family, including the newest token.
        let after = try await node.request("POST", "/api/v1/auth/refresh", json: ["refreshToken": second])
        #expect(after.status == 401)
        // The access token already issued keeps working until it expires.
        let me = try await node.request("GET", "/api/v1/users/me", token: first.json["accessToken"] as? String)
        #expect(me.status == 200)
        // Redis holds only the SHA-256 of refresh tokens.
        let stored = try await node.keys(matching: node.keys.refreshToken("*"))
        #expect(!stored.isEmpty)
        #expect(stored.allSatisfy { !$0.contains(account.refreshToken) && !$0.contains(second) })

        let other = try await node.register()
        let logout = try await node.request("POST", "/api/v1/auth/logout", json: ["refreshToken": other.refreshToken])
        #expect(logout.status == 204)
        let refreshAfterLogout = try await node.request("POST", "/api/v1/auth/refresh", json: ["refreshToken": other.refreshToken])
        #expect(refreshAfterLogout.status == 401)
        let garbage = try await node.request("POST", "/api/v1/auth/refresh", json: ["refreshToken": "garbage"])
        #expect(garbage.status == 401)
        await node.stop()
    }

    @Test func forgedAndExpiredTokensAreRefused() async throws {
        var configuration = TestNode.configuration()
        let secret = "a-test-secret-that-is-at-least-32-bytes-long"
        configuration.auth.jwtSecret = secret
        let node = try await TestNode.start(configuration)
        let account = try await node.register()
        let now = Int(Date().timeIntervalSince1970)
        func token(exp: Int = now + 600, iss: String = "switchboard", aud: [String] = ["switchboard"], key: String = secret) -> String {
            JWT.sign(
                AccessClaims(subject: account.id, issuedAt: now, expiresAt: exp, issuer: iss, audience: aud),
                key: Array(key.utf8))
        }
        #expect(try await node.request("GET", "/api/v1/users/me", token: token()).status == 200)

        let expired = try await node.request("GET", "/api/v1/users/me", token: token(exp: now - 3600))
        #expect(expired.status == 401)
        #expect(expired.errorCode == "token_expired")

        for (label, bad) in [
            ("wrong audience", token(aud: ["someone-else"])),
            ("wrong issuer", token(iss: "evil")),
            ("wrong key", token(key: "another-secret-another-secret-another")),
        ] {
            let result = try await node.request("GET", "/api/v1/users/me", token: bad)
            #expect(result.status == 401, "\(label)")
            #expect(result.errorCode == "unauthorized", "\(label)")
        }

        let parts = token().split(separator: ".").map(String.init)
        // alg=none with no signature.
        let noneHeader = Base64.urlEncode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8))
        // A payload for another user, keeping the original signature.
        let otherPayload = Base64.urlEncode(
            Array(#"{"sub":"u_admin","iss":"switchboard","aud":"switchboard","exp":\#(now + 600),"iat":\#(now)}"#.utf8))
        var flipped = Array(parts[2])
        flipped[5] = flipped[5] == "A" ? "B" : "A"
        for (label, bad) in [
            ("alg none", "\(noneHeader).\(parts[1])."),
            ("alg none signed", "\(noneHeader).\(parts[1]).\(parts[2])"),
            ("tampered payload", "\(parts[0]).\(otherPayload).\(parts[2])"),
            ("tampered signature", "\(parts[0]).\(parts[1]).\(String(flipped))"),
            ("garbage", "not.a.token"),
            ("two parts", "\(parts[0]).\(parts[1])"),
        ] {
            let result = try await node.request("GET", "/api/v1/users/me", token: bad)
            #expect(result.status == 401, "\(label)")
            #expect(result.errorCode == "unauthorized", "\(label)")
        }
        await node.stop()
    }

    @Test func tokensInteroperateWithPyJWT() async throws {
        var configuration = TestNode.configuration()
        let secret = "interop-secret-interop-secret-interop-secret"
        configuration.auth.jwtSecret = secret
        configuration.auth.externalSecret = "backend-secret-backend-secret-backend-secret"
        configuration.auth.externalIssuer = "my-backend"
        let node = try await TestNode.start(configuration)
        let account = try await node.register()

        // A token PyJWT minted with the shared secret is accepted.
        let minted = try await Python.run(["mint", secret, account.id, "switchboard", "switchboard", "600"])
        #expect(try await node.request("GET", "/api/v1/users/me", token: minted).status == 200)
        // An expired PyJWT token is reported as expired.
        let stale = try await Python.run(["mint", secret, account.id, "switchboard", "switchboard", "-600"])
        #expect(try await node.request("GET", "/api/v1/users/me", token: stale).errorCode == "token_expired")
        // A token the hub minted verifies in PyJWT.
        #expect(try await Python.run(["verify", secret, account.accessToken, "switchboard", "switchboard"]) == account.id)

        // The app's own backend mints a token for its user; the hub creates the user on first use.
        let external = try await Python.run(["mint", "backend-secret-backend-secret-backend-secret", "crm-4711", "my-backend", "-", "600"])
        let me = try await node.request("GET", "/api/v1/users/me", token: external)
        #expect(me.status == 200)
        // Its id is namespaced: `x_` + sub (issue 12, item 10).
        #expect((me.json["user"] as? [String: Any])?["id"] as? String == "x_crm-4711")
        // Signed with the wrong secret, it is refused.
        let forged = try await Python.run(["mint", "not-the-backend-secret-not-the-backend", "crm-4711", "my-backend", "-", "600"])
        #expect(try await node.request("GET", "/api/v1/users/me", token: forged).status == 401)
        await node.stop()
    }

    @Test func loginAttemptsAreRateLimited() async throws {
        var configuration = TestNode.configuration()
        configuration.limits.loginPerMinute = 3
        let node = try await TestNode.start(configuration)
        let account = try await node.register()
        for _ in 0..<3 {
            let attempt = try await node.request("POST", "/api/v1/auth/login", json: ["username": account.username, "password": "wrong-one"])
            #expect(attempt.status == 401)
        }
        let limited = try await node.request("POST", "/api/v1/auth/login", json: ["username": account.username, "password": "correct horse"])
        #expect(limited.status == 429)
        #expect(limited.errorCode == "rate_limited")
        #expect(Int(limited.headers["retry-after"] ?? "") ?? 0 >= 1)
        await node.stop()
    }

    @Test func userSearchByPrefix() async throws {
        let node = try await TestNode.start()
        let stem = "srch\(RandomID.make(length: 4))"
        let a = try await node.register(stem + "Anna")
        _ = try await node.register(stem + "anton")
        _ = try await node.register(stem + "Bob")
        let found = try await node.request("GET", "/api/v1/users?q=\(stem.uppercased())AN&limit=20", token: a.accessToken)
        #expect(found.status == 200)
        let names = (found.json["users"] as? [[String: Any]])?.compactMap { $0["username"] as? String } ?? []
        #expect(Set(names) == [stem + "Anna", stem + "anton"])
        let limited = try await node.request("GET", "/api/v1/users?q=\(stem)&limit=1", token: a.accessToken)
        #expect((limited.json["users"] as? [Any])?.count == 1)
        let bad = try await node.request("GET", "/api/v1/users?q=x&limit=zero", token: a.accessToken)
        #expect(bad.status == 400)
        await node.stop()
    }
}

/// Runs the PyJWT helper (installed by scripts/deps).
enum Python {
    static func run(_ arguments: [String]) async throws -> String {
        try await OffPool.run { try runBlocking(arguments) }
    }

    private static func runBlocking(_ arguments: [String]) throws -> String {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/jwt_interop.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if process.terminationStatus != 0 {
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw SwitchboardError(.internalError, "python3 jwt_interop.py failed (is PyJWT installed? scripts/deps installs it): \(message)")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
