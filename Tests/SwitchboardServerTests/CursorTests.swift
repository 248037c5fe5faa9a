import Foundation
import SwitchboardCore
import Testing

/// Issue 12, item 9: malformed history cursors are the client's mistake (400), never a 500.
@Suite("History cursors")
struct CursorTests {
    static let malformed = [
        "before=99999999999999999999-0", "before=1-\u{BD}", "after=\u{663}-\u{663}", "after=1-99999999999999999999",
        "before=18446744073709551616-0", "after=+1-0", "before=1-0x1", "after= 1-1", "before=1--1", "after=1-1-1",
    ]

    static func query(_ pair: String) -> String {
        pair.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "=-")))!
    }

    @Test func malformedCursorsAnswerInvalidRequestOverRESTAndWebSocket() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let id = try await node.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        _ = try await node.send(id, "one", as: alice)
        let live = try await LiveClient.authenticated(node, bob)
        for pair in Self.malformed {
            let result = try await node.request("GET", "/api/v1/conversations/\(id)/messages?\(Self.query(pair))", token: bob.accessToken)
            #expect(result.status == 400, "\(pair): \(result.text)")
            #expect(result.errorCode == "invalid_request", "\(pair)")
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let reply = try await live.command(["op": "history", "conv": id, parts[0]: parts[1]])
            #expect((reply["error"] as? [String: Any])?["code"] as? String == "invalid_request", "ws \(pair): \(reply)")
        }
        // The extremes that are well-formed answer an empty page, not an error.
        for pair in ["before=0-0", "after=18446744073709551615-18446744073709551615"] {
            let result = try await node.request("GET", "/api/v1/conversations/\(id)/messages?\(pair)", token: bob.accessToken)
            #expect(result.status == 200, "\(pair): \(result.text)")
            #expect((result.json["messages"] as? [Any])?.isEmpty == true)
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let reply = try await live.command(["op": "history", "conv": id, parts[0]: parts[1]])
            #expect(reply["ok"] as? Bool == true, "ws \(pair): \(reply)")
        }
        let all = try await node.request(
            "GET", "/api/v1/conversations/\(id)/messages?before=18446744073709551615-18446744073709551615", token: bob.accessToken)
        #expect((all.json["messages"] as? [Any])?.count == 1)
        await live.close()
        await node.stop()
    }

    /// Found by schemathesis (scripts/api-fuzz): `GET /posts/{id}/comments?before=` answered 500.
    @Test func malformedCommentCursorsAnswerInvalidRequest() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let post = try #require(try await node.createPost("hello", as: alice)["id"] as? String)
        let comment = try await node.request("POST", "/api/v1/posts/\(post)/comments", json: ["text": "first"], token: alice.accessToken)
        #expect(comment.status == 201)
        for pair in ["before=", "before=99999999999999999999-0", "before=1-\u{BD}", "before=\u{663}-\u{663}", "before=1--1"] {
            let result = try await node.request("GET", "/api/v1/posts/\(post)/comments?\(Self.query(pair))", token: alice.accessToken)
            #expect(result.status == 400, "\(pair): \(result.text)")
            #expect(result.errorCode == "invalid_request", "\(pair)")
        }
        let none = try await node.request("GET", "/api/v1/posts/\(post)/comments?before=0-0", token: alice.accessToken)
        #expect(none.status == 200, "\(none.text)")
        #expect((none.json["comments"] as? [Any])?.isEmpty == true)
        let all = try await node.request(
            "GET", "/api/v1/posts/\(post)/comments?before=18446744073709551615-18446744073709551615", token: alice.accessToken)
        #expect((all.json["comments"] as? [Any])?.count == 1)
        await node.stop()
    }
}
