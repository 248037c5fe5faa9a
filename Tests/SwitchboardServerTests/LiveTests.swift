import Foundation
import NIOWebSocket
import RedisClient
import SwitchboardClient
import SwitchboardCore
import Testing

@Suite("Live WebSocket sessions", .serialized)
struct LiveTests {
    @Test func authByHeaderAndByFrame() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let byHeader = try await LiveClient.connect(node, token: alice.accessToken)
        let ping = try await byHeader.command(["op": "ping"])
        #expect(ping["ok"] as? Bool == true)

        let byFrame = try await LiveClient.connect(node)
        let before = try await byFrame.command(["op": "ping"])
        #expect((before["error"] as? [String: Any])?["code"] as? String == "unauthorized")
        let auth = try await byFrame.command(["op": "auth", "token": alice.accessToken])
        #expect(auth["ok"] as? Bool == true)
        #expect((auth["user"] as? [String: Any])?["id"] as? String == alice.id)
        #expect(try await byFrame.command(["op": "ping"])["ok"] as? Bool == true)

        // Renewal with another user's token: forbidden, identity kept.
        let bob = try await node.register()
        let other = try await byFrame.command(["op": "auth", "token": bob.accessToken])
        #expect((other["error"] as? [String: Any])?["code"] as? String == "forbidden")
        // A bad renewal is an error reply; the connection stays.
        let bad = try await byFrame.command(["op": "auth", "token": "garbage"])
        #expect(bad["ok"] as? Bool == false)
        #expect(try await byFrame.command(["op": "ping"])["ok"] as? Bool == true)
        await byHeader.close()
        await byFrame.close()
        await node.stop()
    }

    @Test func badTokensCloseWith4001And4009() async throws {
        var configuration = TestNode.configuration()
        configuration.auth.jwtSecret = "live-test-secret-live-test-secret-live"
        let node = try await TestNode.start(configuration)
        let alice = try await node.register()
        let forged = try await LiveClient.connect(node, token: "not-a-token")
        let forgedCode = await forged.waitForClose()
        #expect(forgedCode == 4001, "closed with \(String(describing: forgedCode)), frames: \(forged.received { _ in true })")

        let now = Int(Date().timeIntervalSince1970)
        let expired = JWT.sign(
            AccessClaims(subject: alice.id, issuedAt: now - 3600, expiresAt: now - 1800, issuer: "switchboard", audience: ["switchboard"]),
            key: Array("live-test-secret-live-test-secret-live".utf8))
        let stale = try await LiveClient.connect(node, token: expired)
        #expect(await stale.waitForClose() == 4009)

        let byFrame = try await LiveClient.connect(node)
        try await byFrame.post(["op": "auth", "token": expired])
        #expect(await byFrame.waitForClose() == 4009)
        await node.stop()
    }

    @Test func noAuthInTimeClosesWith4001() async throws {
        var configuration = TestNode.configuration()
        configuration.live.authTimeout = 1
        let node = try await TestNode.start(configuration)
        let idle = try await LiveClient.connect(node)
        #expect(await idle.waitForClose(timeout: 5) == 4001)
        await node.stop()
    }

    @Test func unreadableFramesAndUnknownOps() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let client = try await LiveClient.authenticated(node, alice)
        for bad in ["not json", "[1,2,3]", #"{"op":"ping"}"#, #"{"id":true,"op":"ping"}"#, #"{"id":{"a":1},"op":"ping"}"#] {
            try await client.connection.send(text: bad)
            let event = try await client.event("error")
            #expect((event["error"] as? [String: Any])?["code"] as? String == "invalid_request", "\(bad)")
        }
        let unknown = try await client.command(["op": "teleport"])
        #expect((unknown["error"] as? [String: Any])?["code"] as? String == "unknown_op")
        let noOp = try await client.command([:])
        #expect((noOp["error"] as? [String: Any])?["code"] as? String == "invalid_request")
        let wrongType = try await client.command(["op": "send", "conv": 42, "text": "x"])
        let wrongError = wrongType["error"] as? [String: Any]
        #expect(wrongError?["code"] as? String == "invalid_request")
        #expect((wrongError?["message"] as? String)?.contains("conv") == true)
        let missing = try await client.command(["op": "read", "conv": "c_x"])
        #expect(((missing["error"] as? [String: Any])?["message"] as? String)?.contains("seq") == true)
        // String ids are echoed as strings.
        try await client.send(["id": "abc", "op": "ping"])
        let stringReply = try await client.waitFor { $0["re"] as? String == "abc" }
        #expect(stringReply["ok"] as? Bool == true)
        #expect(try await client.command(["op": "ping"])["ok"] as? Bool == true)
        await client.close()
        await node.stop()
    }

    @Test func protocolViolationsCloseWithTheRightCodes() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let binary = try await LiveClient.authenticated(node, alice)
        try await binary.connection.send(opcode: .binary, bytes: [1, 2, 3])
        #expect(await binary.waitForClose() == 1003)

        let invalid = try await LiveClient.authenticated(node, alice)
        try await invalid.connection.send(opcode: .text, bytes: [0x7B, 0xFF, 0xFE, 0x7D])
        #expect(await invalid.waitForClose() == 1007)

        let huge = try await LiveClient.authenticated(node, alice)
        try await huge.connection.send(text: String(repeating: "x", count: 70 * 1024))
        #expect(await huge.waitForClose() == 1009)

        let fragmented = try await LiveClient.authenticated(node, alice)
        let chunk = [UInt8](repeating: UInt8(ascii: "y"), count: 40 * 1024)
        try await fragmented.connection.send(opcode: .text, bytes: chunk, fin: false)
        try await fragmented.connection.send(opcode: .continuation, bytes: chunk, fin: true)
        #expect(await fragmented.waitForClose() == 1009)

        // Fragments within the limit are joined into one message.
        let joined = try await LiveClient.authenticated(node, alice)
        try await joined.connection.send(opcode: .text, bytes: Array(#"{"id":7,"#.utf8), fin: false)
        try await joined.connection.send(opcode: .continuation, bytes: Array(#""op":"ping"}"#.utf8), fin: true)
        #expect(try await joined.waitFor { $0["re"] as? Int == 7 }["ok"] as? Bool == true)

        // The node keeps serving a fresh client.
        let fresh = try await LiveClient.authenticated(node, alice)
        #expect(try await fresh.command(["op": "ping"])["ok"] as? Bool == true)
        await joined.close()
        await fresh.close()
        await node.stop()
    }

    @Test func plainGETOnTheSocketRouteIsAClearError() async throws {
        let node = try await TestNode.start()
        let result = try await node.request("GET", "/ws")
        #expect(result.status == 400)
        #expect(result.errorCode == "invalid_request")
        await node.stop()
    }
}
