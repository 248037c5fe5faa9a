import Foundation
import RedisClient
import SwitchboardCore
import Testing

/// Operations that span slots are per-slot steps (docs/redis-layout.md,
/// "Redis Cluster"): a crash between two steps leaves a state a retry repairs.
/// Each test removes what the second step wrote, as a crash would have left it.
@Suite("Cross-slot operations: a retry repairs a crash between steps")
struct SplitStepTests {
    func conversationIDs(_ node: TestNode, as account: TestNode.Account) async throws -> [String] {
        let list = try await node.request("GET", "/api/v1/conversations", token: account.accessToken)
        return (list.json["conversations"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
    }

    @Test func askingForADirectConversationAgainRepairsTheMembersIndex() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let created = try await node.request("POST", "/api/v1/conversations", json: ["kind": "direct", "with": bob.id], token: alice.accessToken)
        let id = try #require((created.json["conversation"] as? [String: Any])?["id"] as? String)
        // The crash: the conversation was written, the members' indexes were not.
        _ = try await node.redis.send("SREM", node.keys.userConversations(alice.id), id)
        _ = try await node.redis.send("SREM", node.keys.userConversations(bob.id), id)
        #expect(try await conversationIDs(node, as: alice).contains(id) == false)
        // The retry: the same request answers the existing conversation and indexes both again.
        let again = try await node.request("POST", "/api/v1/conversations", json: ["kind": "direct", "with": bob.id], token: alice.accessToken)
        #expect(again.status == 200)
        #expect(try await conversationIDs(node, as: alice).contains(id))
        #expect(try await conversationIDs(node, as: bob).contains(id))
        await node.stop()
    }

    @Test func addingAMemberAgainRepairsTheirIndex() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let created = try await node.request("POST", "/api/v1/conversations", json: ["kind": "group", "name": "g"], token: alice.accessToken)
        let id = try #require((created.json["conversation"] as? [String: Any])?["id"] as? String)
        let added = try await node.request("POST", "/api/v1/conversations/\(id)/members", json: ["users": [bob.id]], token: alice.accessToken)
        #expect(added.status == 200)
        _ = try await node.redis.send("SREM", node.keys.userConversations(bob.id), id)
        #expect(try await conversationIDs(node, as: bob).contains(id) == false)
        let retry = try await node.request("POST", "/api/v1/conversations/\(id)/members", json: ["users": [bob.id]], token: alice.accessToken)
        #expect(retry.status == 200)
        #expect(try await conversationIDs(node, as: bob).contains(id))
        await node.stop()
    }

    @Test func deletingAPostAgainRemovesItFromTheAuthorsIndex() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let post = try await node.request("POST", "/api/v1/posts", json: ["text": "hello"], token: alice.accessToken)
        let id = try #require((post.json["post"] as? [String: Any])?["id"] as? String)
        #expect(try await node.redis.send("ZSCORE", node.keys.userPosts(alice.id), id) != .null)
        #expect(try await node.request("DELETE", "/api/v1/posts/\(id)", token: alice.accessToken).status == 204)
        #expect(try await node.redis.send("ZSCORE", node.keys.userPosts(alice.id), id) == .null)
        // The crash: the post's keys went, its entry in the author's index stayed.
        _ = try await node.redis.send("ZADD", node.keys.userPosts(alice.id), 1, id)
        let listed = try await node.request("GET", "/api/v1/users/\(alice.id)/posts", token: alice.accessToken)
        #expect((listed.json["posts"] as? [Any])?.isEmpty == true, "readers skip a post whose hash is gone")
        #expect(try await node.request("DELETE", "/api/v1/posts/\(id)", token: alice.accessToken).status == 404)
        #expect(try await node.redis.send("ZSCORE", node.keys.userPosts(alice.id), id) == .null)
        await node.stop()
    }
}
