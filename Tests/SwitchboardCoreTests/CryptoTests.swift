import Foundation
import RedisClient
import SwitchboardCore
import Testing

@Suite("libcrypto primitives, JWT and password hashes")
struct CryptoTests {
    func bytes(hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return result
    }

    @Test func hmacSHA256MatchesRFC4231() {
        // RFC 4231 test case 2.
        let mac = Crypto.hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(Base64.hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func sha256MatchesKnownDigest() {
        #expect(Base64.hex(Crypto.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func scryptMatchesRFC7914() {
        // RFC 7914 section 12, second vector.
        let derived = Crypto.scrypt(
            password: Array("password".utf8), salt: Array("NaCl".utf8), n: 1024, r: 8, p: 16, length: 64)
        #expect(
            derived.map(Base64.hex)
                == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
        )
    }

    @Test func constantTimeEquals() {
        #expect(Crypto.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!Crypto.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!Crypto.constantTimeEquals([1, 2, 3], [1, 2]))
    }

    @Test func randomIDsAreDistinctBase62() {
        let ids = (0..<1000).map { _ in RandomID.make(length: 12) }
        #expect(Set(ids).count == 1000)
        #expect(ids.allSatisfy { $0.count == 12 && $0.allSatisfy { $0.isLetter || $0.isNumber } })
    }

    @Test func base64URLRoundTrip() {
        for length in 0..<40 {
            let data = RandomID.bytes(length)
            let text = Base64.urlEncode(data)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(Base64.urlDecode(text) == data)
        }
        #expect(Base64.urlDecode("a") == nil)
        #expect(Base64.urlDecode("ab+c") == nil)
        #expect(Base64.urlDecode("Zg==") == nil)  // padding is not base64url here
        // RFC 4648 §10 vectors, unpadded, and the two url-safe characters.
        let vectors = ["": "", "f": "Zg", "fo": "Zm8", "foo": "Zm9v", "foob": "Zm9vYg", "fooba": "Zm9vYmE", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64.urlEncode(Array(plain.utf8)) == encoded)
            #expect(Base64.urlDecode(encoded) == Array(plain.utf8))
        }
        #expect(Base64.urlEncode([0xFB, 0xFF, 0xBF]) == "-_-_")
        #expect(Base64.urlDecode("-_-_") == [0xFB, 0xFF, 0xBF])
        #expect(Base64.urlDecode(Substring("xx.Zm9v.yy".split(separator: ".")[1])) == Array("foo".utf8))
    }

    @Test func passwordHashesAreSaltedAndVerify() {
        let hasher = PasswordHasher(n: 1024, r: 8, p: 1)
        let first = hasher.hash("hunter2hunter2")
        let second = hasher.hash("hunter2hunter2")
        #expect(first != second)
        #expect(first.hasPrefix("scrypt$1024$8$1$"))
        #expect(hasher.verify("hunter2hunter2", against: first))
        #expect(!hasher.verify("hunter2hunter3", against: first))
        // Parameters come from the stored string, so raising the default keeps old hashes valid.
        #expect(PasswordHasher(n: 1 << 14).verify("hunter2hunter2", against: first))
        #expect(!hasher.verify("x", against: "scrypt$3$8$1$AAAA$AAAA"))
        #expect(!hasher.verify("x", against: "garbage"))
    }

    @Test func jwtRoundTripAndChecks() throws {
        let key = Array("k".utf8) + RandomID.bytes(32)
        let claims = AccessClaims(subject: "u_1", issuedAt: 1000, expiresAt: 2000, issuer: "sb", audience: ["app"])
        let token = JWT.sign(claims, key: key)
        let verified = try JWT.verify(token, key: key, issuer: "sb", audience: "app", now: 1500, leeway: 0)
        #expect(verified.subject == "u_1")
        #expect(verified.expiresAt == 2000)
        #expect(throws: SwitchboardError(.tokenExpired, "access token expired")) {
            try JWT.verify(token, key: key, issuer: "sb", audience: "app", now: 2001, leeway: 0)
        }
        // Within the leeway it still passes.
        _ = try JWT.verify(token, key: key, issuer: "sb", audience: "app", now: 2010, leeway: 30)
        #expect(throws: SwitchboardError.self) {
            try JWT.verify(token, key: key, issuer: "sb", audience: "other", now: 1500, leeway: 0)
        }
        let future = JWT.sign(
            AccessClaims(subject: "u_1", issuedAt: 5000, expiresAt: 9000, issuer: "sb", audience: ["app"]), key: key)
        #expect(throws: SwitchboardError.self) {
            try JWT.verify(future, key: key, issuer: "sb", audience: "app", now: 1500, leeway: 30)
        }
        let notYet = JWT.sign(
            AccessClaims(subject: "u_1", issuedAt: 1000, expiresAt: 9000, issuer: "sb", audience: ["app"], notBefore: 3000),
            key: key)
        #expect(throws: SwitchboardError.self) {
            try JWT.verify(notYet, key: key, issuer: "sb", audience: "app", now: 1500, leeway: 30)
        }
    }

    @Test func jwtHeadersOtherThanOursAreStillChecked() throws {
        let key = Array("k".utf8) + RandomID.bytes(32)
        let claims = AccessClaims(subject: "u_1", issuedAt: 1000, expiresAt: 2000, issuer: "sb", audience: ["app"])
        // What `sign` writes (and `verify` reads without parsing).
        #expect(JWT.sign(claims, key: key).hasPrefix("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."))
        func token(header: String) -> String {
            let payload = JWT.sign(claims, key: key).split(separator: ".")[1]
            let input = Base64.urlEncode(Array(header.utf8)) + "." + payload
            return input + "." + Base64.urlEncode(Crypto.hmacSHA256(key: key, message: Array(input.utf8)))
        }
        let reordered = try JWT.verify(token(header: #"{"typ":"JWT","alg":"HS256"}"#), key: key, issuer: "sb", audience: "app", now: 1500, leeway: 0)
        #expect(reordered.subject == "u_1")
        #expect(throws: SwitchboardError(.unauthorized, "unsupported token algorithm (only HS256 is accepted)")) {
            try JWT.verify(token(header: #"{"alg":"none","typ":"JWT"}"#), key: key, issuer: "sb", audience: "app", now: 1500, leeway: 0)
        }
        #expect(throws: SwitchboardError(.unauthorized, "invalid access token")) {
            try JWT.verify(token(header: #"{"alg":"HS256","typ":"XYZ"}"#), key: key, issuer: "sb", audience: "app", now: 1500, leeway: 0)
        }
    }

    @Test func sha1MatchesTheFIPSVector() {
        #expect(Crypto.sha1(Array("abc".utf8)) == bytes(hex: "a9993e364706816aba3e25717850c26c9cd0d89d"))
    }

    @Test func embeddedLuaMatchesTheLuaFolder() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let files = try FileManager.default.contentsOfDirectory(atPath: root.path + "/lua").filter { $0.hasSuffix(".lua") }.sorted()
        #expect(LuaScripts.all.map(\.name) == files.map { String($0.dropLast(4)) }, "run scripts/gen-lua")
        for script in LuaScripts.all {
            let source = try String(contentsOfFile: root.path + "/lua/\(script.name).lua", encoding: .utf8)
            #expect(script.source == source.trimmingCharacters(in: .newlines), "lua/\(script.name).lua changed: run scripts/gen-lua")
        }
    }
}
