import Foundation
import SwitchboardCore
import Testing

/// Answers that schemathesis (scripts/api-fuzz) got from two live nodes and
/// docs/openapi.yaml did not describe: each request is made again here, and
/// the status it gets must be one the document lists for that operation.
@Suite("OpenAPI conformance (schemathesis findings)")
struct OpenAPIConformanceTests {
    static let serverKey = "api-conformance-key-0123456789"

    /// The status codes the embedded document lists for `operationId`.
    static func documentedStatuses(_ operationId: String) throws -> Set<String> {
        let paths = try #require(try OpenAPIDocumentTests.document()["paths"] as? [String: [String: Any]])
        for item in paths.values {
            for case let operation as [String: Any] in item.values where operation["operationId"] as? String == operationId {
                return Set((operation["responses"] as? [String: Any] ?? [:]).keys)
            }
        }
        Issue.record("no operation \(operationId)")
        return []
    }

    @Test func oversizedFieldsAnswer413AndTheDocumentSaysSo() async throws {
        var configuration = TestNode.configuration()
        configuration.auth.serverAPIKeys = [Self.serverKey]
        let node = try await TestNode.start(configuration)
        let alice = try await node.register(password: "correct-horse-battery-9")
        let long = String(repeating: "0", count: 1025)

        // A new password over 1024 bytes (schemathesis: `{"current": "", "new": "000…"}`).
        let password = try await node.request(
            "POST", "/api/v1/auth/password", json: ["current": "", "new": long], token: alice.accessToken)
        #expect(password.status == 413)
        #expect(try Self.documentedStatuses("changePassword").contains("413"))

        // A body over 1 MiB (a wrong password of 1025 bytes is a 401: it is checked first).
        let huge = String(repeating: "0", count: 1_100_000)
        let deleted = try await node.request("DELETE", "/api/v1/users/me", json: ["password": huge], token: alice.accessToken)
        #expect(deleted.status == 413)
        #expect(try Self.documentedStatuses("deleteMe").contains("413"))

        // A display name of 65 characters through the server API.
        let user = try await node.request(
            "POST", "/api/v1/server/users", json: ["username": "fuzzer", "displayName": String(repeating: "0", count: 65)],
            token: Self.serverKey)
        #expect(user.status == 413)
        #expect(try Self.documentedStatuses("serverCreateUser").contains("413"))
        await node.stop()
    }

    /// The body limit (1 MiB) holds for every operation that takes a body.
    @Test func everyOperationWithABodyDocuments413() throws {
        let paths = try #require(try OpenAPIDocumentTests.document()["paths"] as? [String: [String: Any]])
        var missing: [String] = []
        for item in paths.values {
            for case let operation as [String: Any] in item.values where operation["requestBody"] != nil {
                let responses = operation["responses"] as? [String: Any] ?? [:]
                if responses["413"] == nil { missing.append(operation["operationId"] as? String ?? "?") }
            }
        }
        #expect(missing.sorted() == [])
    }

    /// The per-user throttles of issue 12 (conversations created, members
    /// added or removed, edits and deletes) answer 429 over REST.
    @Test func throttledOperationsAnswer429AndTheDocumentSaysSo() async throws {
        var configuration = TestNode.configuration()
        configuration.limits.conversationsPerMinute = 1
        configuration.limits.membershipChangesPerMinute = 1
        configuration.limits.editsPerMinute = 2
        let node = try await TestNode.start(configuration)
        let alice = try await node.register()
        let bob = try await node.register()
        let carol = try await node.register()

        let group = try await node.create(["kind": "group", "name": "One", "members": [bob.id]], as: alice)["id"] as! String
        let second = try await node.request(
            "POST", "/api/v1/conversations", json: ["kind": "group", "name": "Two"], token: alice.accessToken)
        #expect(second.status == 429)
        #expect(try Self.documentedStatuses("createConversation").contains("429"))

        let added = try await node.request(
            "POST", "/api/v1/conversations/\(group)/members", json: ["users": [carol.id]], token: alice.accessToken)
        #expect(added.status == 200)
        let removed = try await node.request("DELETE", "/api/v1/conversations/\(group)/members/\(carol.id)", token: alice.accessToken)
        #expect(removed.status == 429)
        #expect(try Self.documentedStatuses("removeMember").contains("429"))
        let addedAgain = try await node.request(
            "POST", "/api/v1/conversations/\(group)/members", json: ["users": [carol.id]], token: alice.accessToken)
        #expect(addedAgain.status == 429)
        #expect(try Self.documentedStatuses("addMembers").contains("429"))

        let sent = try await node.send(group, "hello", as: alice)
        let message = try #require((sent.json["message"] as? [String: Any])?["id"] as? String)
        let path = "/api/v1/conversations/\(group)/messages/\(message)"
        #expect(try await node.request("PATCH", path, json: ["text": "edited"], token: alice.accessToken).status == 200)
        #expect(try await node.request("PATCH", path, json: ["text": "again"], token: alice.accessToken).status == 200)
        #expect(try await node.request("PATCH", path, json: ["text": "third"], token: alice.accessToken).status == 429)
        #expect(try Self.documentedStatuses("editMessage").contains("429"))
        #expect(try await node.request("DELETE", path, token: alice.accessToken).status == 429)
        #expect(try Self.documentedStatuses("deleteMessage").contains("429"))
        await node.stop()
    }
}
