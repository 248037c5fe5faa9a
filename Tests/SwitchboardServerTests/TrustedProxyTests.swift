import Foundation
import SwitchboardCore
import SwitchboardServer
import Testing

/// Issue 12, item 8: behind a trusted proxy each client gets its own rate-limit
/// budget; from anyone else the forwarding header is ignored.
@Suite("Trusted proxies")
struct TrustedProxyTests {
    func registrations(_ node: TestNode, forwardedFor: [String]) async throws -> [Int] {
        var statuses: [Int] = []
        for address in forwardedFor {
            let result = try await node.request(
                "POST", "/api/v1/auth/register", json: ["username": "p\(RandomID.make(length: 10))", "password": "long-enough-1"],
                headers: ["X-Forwarded-For": address])
            statuses.append(result.status)
        }
        return statuses
    }

    @Test func clientsBehindATrustedProxyHaveTheirOwnBudget() async throws {
        var configuration = TestNode.configuration()
        configuration.limits.registrationsPerMinute = 2
        configuration.trustedProxies = ["127.0.0.0/8", "::1/128"]
        let node = try await TestNode.start(configuration)
        // Three clients, one registration each: nobody is limited by the others.
        #expect(try await registrations(node, forwardedFor: ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) == [201, 201, 201])
        // The rightmost untrusted hop counts, not what the client wrote on the left.
        let same = try await registrations(node, forwardedFor: ["1.1.1.1, 203.0.113.9", "2.2.2.2, 203.0.113.9", "3.3.3.3, 203.0.113.9"])
        #expect(same == [201, 201, 429])
        await node.stop()
    }

    @Test func theHeaderIsIgnoredFromAnUntrustedPeer() async throws {
        var configuration = TestNode.configuration()
        configuration.limits.registrationsPerMinute = 2
        configuration.trustedProxies = ["10.0.0.0/8"]
        let node = try await TestNode.start(configuration)
        #expect(try await registrations(node, forwardedFor: ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) == [201, 201, 429])
        await node.stop()
    }

    @Test func aBadRangeStopsTheNode() {
        var configuration = TestNode.configuration()
        configuration.trustedProxies = ["10.0.0.0/33"]
        #expect(throws: SwitchboardError.self) { try SwitchboardNode(configuration: configuration) }
    }
}
