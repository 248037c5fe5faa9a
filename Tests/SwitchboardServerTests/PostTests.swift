import Foundation
import RedisClient
import SwitchboardCore
import Testing

extension TestNode {
    /// Creates a post and returns its JSON.
    func createPost(_ text: String, as account: Account) async throws -> [String: Any] {
        let result = try await request("POST", "/api/v1/posts", json: ["text": text], token: account.accessToken)
        #expect(result.status == 201, "create post: \(result.text)")
        return result.json["post"] as? [String: Any] ?? [:]
    }

    func follow(_ target: Account, as account: Account, _ follow: Bool = true) async throws {
        let result = try await request(follow ? "PUT" : "DELETE", "/api/v1/users/\(target.id)/follow", token: account.accessToken)
        #expect(result.status == 204, "follow: \(result.text)")
    }

    /// One page of a `{<key>: [...], next}` list.
    func page(_ path: String, key: String, as account: Account) async throws -> (ids: [String], next: String?) {
        let result = try await request("GET", path, token: account.accessToken)
        #expect(result.status == 200, "\(path): \(result.text)")
        let items = result.json[key] as? [[String: Any]] ?? []
        return (items.compactMap { $0["id"] as? String }, result.json["next"] as? String)
    }

    /// Every page of a list, `limit` at a time.
    func allPages(_ path: String, key: String, limit: Int, as account: Account) async throws -> [[String]] {
        var pages: [[String]] = []
        var before: String?
        repeat {
            let separator = path.contains("?") ? "&" : "?"
            let cursor = before.map { "&before=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? ""
            let page = try await page("\(path)\(separator)limit=\(limit)\(cursor)", key: key, as: account)
            pages.append(page.ids)
            before = page.next
        } while before != nil && pages.count < 100
        return pages
    }

    /// Polls the feed until `predicate` holds (fan-out runs after the answer); returns the last ids seen.
    func feed(of account: Account, until predicate: ([String]) -> Bool) async throws -> [String] {
        var ids: [String] = []
        for _ in 0..<500 {
            ids = try await page("/api/v1/feed?limit=100", key: "posts", as: account).ids
            if predicate(ids) { return ids }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        return ids
    }

    /// Polls the notifications until one matches.
    func notification(of account: Account, where predicate: ([String: Any]) -> Bool) async throws -> [[String: Any]] {
        var items: [[String: Any]] = []
        for _ in 0..<500 {
            items = try await request("GET", "/api/v1/notifications", token: account.accessToken).json["notifications"] as? [[String: Any]] ?? []
            if items.contains(where: predicate) { return items }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        return items
    }
}

@Suite("Posts, follows and feeds", .serialized)
struct PostTests {
    static func pair(fanoutMax: Int = 10_000) async throws -> (TestNode, TestNode) {
        try await TestNode.pair {
            $0.posts.feedFanoutMax = fanoutMax
            $0.posts.postsPerMinute = 1000
            $0.posts.commentsPerMinute = 1000
        }
    }

    @Test func followPostFeedOrderAndPagingAcrossNodes() async throws {
        let (a, b) = try await Self.pair()
        let alice = try await a.register()
        let bob = try await b.register()
        let carol = try await b.register()
        try await b.follow(alice, as: bob)
        try await b.follow(alice, as: bob)  // idempotent
        try await a.follow(alice, as: carol)
        try await a.follow(carol, as: bob)
        #expect(try await b.request("PUT", "/api/v1/users/\(bob.id)/follow", token: bob.accessToken).errorCode == "invalid_request")
        #expect(try await b.request("PUT", "/api/v1/users/u_nobody/follow", token: bob.accessToken).status == 404)

        let profile = try await b.request("GET", "/api/v1/users/\(alice.id)", token: bob.accessToken).json["user"] as? [String: Any]
        #expect(profile?["followers"] as? Int == 2)
        #expect(profile?["following"] as? Int == 0)
        let bobs = try await a.request("GET", "/api/v1/users/\(bob.id)", token: bob.accessToken).json["user"] as? [String: Any]
        #expect(bobs?["following"] as? Int == 2)
        let followers = try await a.allPages("/api/v1/users/\(alice.id)/followers", key: "users", limit: 1, as: bob)
        #expect(followers == [[carol.id], [bob.id]])  // most recent first
        #expect(try await a.page("/api/v1/users/\(bob.id)/following", key: "users", as: bob).ids == [carol.id, alice.id])

        var ids: [String] = []
        for index in 0..<5 { ids.append(try await a.createPost("post \(index)", as: alice)["id"] as! String) }
        let newestFirst = Array(ids.reversed())
        #expect(try await b.feed(of: bob, until: { $0.count == 5 }) == newestFirst)
        #expect(try await b.feed(of: alice, until: { $0.count == 5 }) == newestFirst)  // her own
        #expect(
            try await b.allPages("/api/v1/feed", key: "posts", limit: 2, as: bob) == [
                Array(newestFirst[0..<2]), Array(newestFirst[2..<4]), [newestFirst[4]],
            ])
        #expect(try await a.allPages("/api/v1/users/\(alice.id)/posts", key: "posts", limit: 3, as: carol).flatMap { $0 } == newestFirst)

        // Read, edit (author only), limits, delete.
        let fetched = try await b.request("GET", "/api/v1/posts/\(ids[0])", token: carol.accessToken).json["post"] as? [String: Any]
        #expect(fetched?["author"] as? String == alice.id)
        #expect(fetched?["text"] as? String == "post 0")
        #expect(fetched?["likes"] as? Int == 0 && fetched?["comments"] as? Int == 0 && fetched?["shares"] as? Int == 0)
        #expect(try await b.request("PATCH", "/api/v1/posts/\(ids[0])", json: ["text": "mine"], token: bob.accessToken).status == 403)
        let edited = try await b.request("PATCH", "/api/v1/posts/\(ids[0])", json: ["text": "edited"], token: alice.accessToken)
        #expect((edited.json["post"] as? [String: Any])?["editedAt"] is Int)
        let long = String(repeating: "é", count: 2049)  // 4,098 bytes
        #expect(try await a.request("POST", "/api/v1/posts", json: ["text": long], token: alice.accessToken).errorCode == "too_large")
        #expect(try await a.request("POST", "/api/v1/posts", json: ["text": "  "], token: alice.accessToken).errorCode == "invalid_request")
        #expect(try await a.request("DELETE", "/api/v1/posts/\(ids[4])", token: bob.accessToken).status == 403)
        #expect(try await a.request("DELETE", "/api/v1/posts/\(ids[4])", token: alice.accessToken).status == 204)
        // Never shown again, whether or not the feed removal ran yet.
        #expect(!(try await b.page("/api/v1/feed", key: "posts", as: bob).ids.contains(ids[4])))
        for path in ["/api/v1/posts/\(ids[4])", "/api/v1/posts/p_unknown", "/api/v1/posts/\(ids[4])/comments"] {
            #expect(try await b.request("GET", path, token: bob.accessToken).errorCode == "not_found")
        }
        #expect(try await b.request("PUT", "/api/v1/posts/\(ids[4])/like", token: bob.accessToken).errorCode == "not_found")
        #expect(try await b.request("DELETE", "/api/v1/posts/\(ids[4])", token: alice.accessToken).errorCode == "not_found")
        _ = try await b.feed(of: carol, until: { !$0.contains(ids[4]) })
        var removed = false
        for _ in 0..<500 where !removed {
            removed = try await a.redis.send("ZSCORE", a.keys.feed(carol.id), ids[4]).isNull
            if !removed { try await Task.sleep(nanoseconds: 10_000_000) }
        }
        #expect(removed)
        await a.stop()
        await b.stop()
    }

    @Test func bothFanoutPathsMergeInOneFeed() async throws {
        let (a, b) = try await Self.pair(fanoutMax: 2)
        let star = try await a.register()
        let friend = try await a.register()
        let bob = try await b.register()
        let carol = try await b.register()
        let dave = try await b.register()
        for fan in [bob, carol, dave] { try await b.follow(star, as: fan) }  // 3 > 2: merged at read time
        try await b.follow(friend, as: bob)  // 1: written into feeds

        let first = try await a.createPost("star 1", as: star)["id"] as! String
        let second = try await a.createPost("friend 1", as: friend)["id"] as! String
        let third = try await b.createPost("star 2", as: star)["id"] as! String
        let feed = try await b.feed(of: bob, until: { $0.count == 3 })
        #expect(feed == [third, second, first])
        #expect(try await b.allPages("/api/v1/feed", key: "posts", limit: 1, as: bob) == [[third], [second], [first]])
        #expect(try await a.redis.send("SISMEMBER", a.keys.pullAuthors, star.id).int == 1)
        #expect(try await a.redis.send("ZSCORE", a.keys.feed(bob.id), second).isNull == false)
        #expect(try await a.redis.send("ZSCORE", a.keys.feed(bob.id), first).isNull)  // not written
        #expect(try await b.feed(of: carol, until: { $0.count == 2 }) == [third, first])
        #expect(try await a.redis.send("EXISTS", a.keys.feed(carol.id)).int == 0)

        #expect(try await a.request("DELETE", "/api/v1/posts/\(third)", token: star.accessToken).status == 204)
        #expect(try await b.page("/api/v1/feed", key: "posts", as: carol).ids == [first])
        await a.stop()
        await b.stop()
    }

    @Test func unfollowRemovesFuturePostsOnly() async throws {
        let (a, b) = try await Self.pair()
        let alice = try await a.register()
        let bob = try await b.register()
        let carol = try await b.register()
        try await b.follow(alice, as: bob)
        try await b.follow(alice, as: carol)
        let before = try await a.createPost("before", as: alice)["id"] as! String
        #expect(try await b.feed(of: bob, until: { $0 == [before] }) == [before])
        try await b.follow(alice, as: bob, false)
        try await b.follow(alice, as: bob, false)  // idempotent
        let after = try await a.createPost("after", as: alice)["id"] as! String
        // Carol's feed has it once the fan-out ran; Bob was not in it.
        #expect(try await b.feed(of: carol, until: { $0.count == 2 }) == [after, before])
        #expect(try await b.page("/api/v1/feed", key: "posts", as: bob).ids == [before])
        #expect(try await a.page("/api/v1/users/\(alice.id)/followers", key: "users", as: bob).ids == [carol.id])
        await a.stop()
        await b.stop()
    }

    @Test func likesAreIdempotentAndCountedOnceUnderConcurrency() async throws {
        let (a, b) = try await Self.pair()
        let author = try await a.register()
        let id = try await a.createPost("like me", as: author)["id"] as! String
        let fans = try await withThrowingTaskGroup(of: TestNode.Account.self) { group in
            for index in 0..<200 { group.addTask { try await (index % 2 == 0 ? a : b).register() } }
            return try await group.reduce(into: [TestNode.Account]()) { $0.append($1) }
        }
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for (index, fan) in fans.enumerated() {
                group.addTask {
                    try await (index % 2 == 0 ? a : b).request("PUT", "/api/v1/posts/\(id)/like", token: fan.accessToken).status
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.allSatisfy { $0 == 200 })
        func likes() async throws -> Int? {
            (try await a.request("GET", "/api/v1/posts/\(id)", token: author.accessToken).json["post"] as? [String: Any])?["likes"] as? Int
        }
        #expect(try await likes() == 200)
        let again = try await b.request("PUT", "/api/v1/posts/\(id)/like", token: fans[0].accessToken)
        #expect(again.json["likes"] as? Int == 200)
        #expect(try await a.request("DELETE", "/api/v1/posts/\(id)/like", token: fans[1].accessToken).json["likes"] as? Int == 199)
        #expect(try await a.request("DELETE", "/api/v1/posts/\(id)/like", token: fans[1].accessToken).json["likes"] as? Int == 199)
        #expect(try await likes() == 199)
        #expect(try await a.redis.send("SCARD", a.keys.postLikes(id)).int == 199)

        // One coalesced notification for all of them.
        let items = try await a.notification(of: author) { $0["type"] as? String == "post.liked" && $0["count"] as? Int == 200 }
        let liked = items.filter { $0["type"] as? String == "post.liked" }
        #expect(liked.count == 1)
        #expect(liked.first?["post"] as? String == id)
        #expect(liked.first?["text"] as? String == "200 people liked your post")
        #expect((liked.first?["actors"] as? [String])?.count == 5)
        await a.stop()
        await b.stop()
    }

    @Test func commentsPagedDeletedAndNotificationsCoalesced() async throws {
        let (a, b) = try await Self.pair()
        let alice = try await a.register()
        let bob = try await b.register()
        let carol = try await b.register()
        let id = try await a.createPost("talk to me", as: alice)["id"] as! String
        var comments: [String] = []
        for index in 0..<5 {
            let result = try await b.request("POST", "/api/v1/posts/\(id)/comments", json: ["text": "c\(index)"], token: bob.accessToken)
            #expect(result.status == 201)
            comments.append((result.json["comment"] as? [String: Any])?["id"] as? String ?? "")
        }
        let long = String(repeating: "x", count: 2049)
        #expect(try await b.request("POST", "/api/v1/posts/\(id)/comments", json: ["text": long], token: bob.accessToken).errorCode == "too_large")
        let pages = try await a.allPages("/api/v1/posts/\(id)/comments", key: "comments", limit: 2, as: carol)
        #expect(pages == [[comments[4], comments[3]], [comments[2], comments[1]], [comments[0]]])

        let carols = try await a.request("POST", "/api/v1/posts/\(id)/comments", json: ["text": "me too"], token: carol.accessToken)
        let carolComment = (carols.json["comment"] as? [String: Any])?["id"] as? String ?? ""
        #expect(try await a.request("DELETE", "/api/v1/posts/\(id)/comments/\(comments[0])", token: carol.accessToken).status == 403)
        #expect(try await a.request("DELETE", "/api/v1/posts/\(id)/comments/\(comments[0])", token: bob.accessToken).status == 204)
        #expect(try await a.request("DELETE", "/api/v1/posts/\(id)/comments/\(carolComment)", token: alice.accessToken).status == 204)
        #expect(try await a.request("DELETE", "/api/v1/posts/\(id)/comments/\(carolComment)", token: alice.accessToken).status == 404)
        let post = try await b.request("GET", "/api/v1/posts/\(id)", token: bob.accessToken).json["post"] as? [String: Any]
        #expect(post?["comments"] as? Int == 4)

        // Bob (5 comments) and Carol: one entry, "2 people".
        let items = try await a.notification(of: alice) { $0["type"] as? String == "post.commented" && $0["count"] as? Int == 2 }
        let commented = items.filter { $0["type"] as? String == "post.commented" }
        #expect(commented.count == 1)
        #expect(commented.first?["text"] as? String == "2 people commented on your post")
        await a.stop()
        await b.stop()
    }

    @Test func livePostEventsReachOnlineFollowersOnly() async throws {
        let (a, b) = try await Self.pair()
        let alice = try await a.register()
        let bob = try await a.register()
        let carol = try await b.register()
        let erin = try await b.register()
        try await b.follow(alice, as: carol)
        try await b.follow(bob, as: erin)
        let carolLive = try await LiveClient.authenticated(b, carol)
        let erinLive = try await LiveClient.authenticated(a, erin)
        let aliceLive = try await LiveClient.authenticated(a, alice)

        let id = try await a.createPost("live", as: alice)["id"] as! String
        let event = try await carolLive.event("post")
        let post = event["post"] as? [String: Any]
        #expect(post?["id"] as? String == id)
        #expect(post?["author"] as? String == alice.id)
        // Erin follows Bob only: when Bob's post arrives, Alice's would have come before it.
        let bobs = try await b.createPost("from bob", as: bob)["id"] as! String
        let erinEvent = try await erinLive.event("post")
        #expect((erinEvent["post"] as? [String: Any])?["id"] as? String == bobs)
        #expect(erinLive.received { $0["ev"] as? String == "post" }.isEmpty)
        #expect(aliceLive.received { $0["ev"] as? String == "post" }.isEmpty)  // the author gets none

        // The online author gets her notification live, and not again on the next connect.
        #expect(try await b.request("PUT", "/api/v1/posts/\(id)/like", token: carol.accessToken).status == 200)
        let live = try await aliceLive.event("notification")
        #expect((live["notification"] as? [String: Any])?["type"] as? String == "post.liked")
        await aliceLive.close()
        let again = try await LiveClient.authenticated(a, alice)
        _ = try await again.command(["op": "status", "status": "online"])
        #expect(again.received { $0["ev"] as? String == "notification" }.isEmpty)
        await again.close()
        await carolLive.close()
        await erinLive.close()
        await a.stop()
        await b.stop()
    }

    @Test func postingLikingCommentingAndFollowingAreRateLimited() async throws {
        var configuration = TestNode.configuration()
        configuration.posts.postsPerMinute = 2
        configuration.posts.likesPerMinute = 1
        configuration.posts.commentsPerMinute = 1
        configuration.posts.followsPerMinute = 1
        let node = try await TestNode.start(configuration)
        let alice = try await node.register()
        let bob = try await node.register()
        let id = try await node.createPost("one", as: alice)["id"] as! String
        _ = try await node.createPost("two", as: alice)
        let third = try await node.request("POST", "/api/v1/posts", json: ["text": "three"], token: alice.accessToken)
        #expect(third.status == 429 && third.errorCode == "rate_limited")
        #expect(try await node.request("PUT", "/api/v1/posts/\(id)/like", token: bob.accessToken).status == 200)
        #expect(try await node.request("DELETE", "/api/v1/posts/\(id)/like", token: bob.accessToken).status == 429)
        #expect(try await node.request("POST", "/api/v1/posts/\(id)/comments", json: ["text": "a"], token: bob.accessToken).status == 201)
        #expect(try await node.request("POST", "/api/v1/posts/\(id)/comments", json: ["text": "b"], token: bob.accessToken).status == 429)
        try await node.follow(alice, as: bob)
        #expect(try await node.request("DELETE", "/api/v1/users/\(alice.id)/follow", token: bob.accessToken).status == 429)
        await node.stop()
    }
}

/// The pieces of sharing a post into a chat that exist so far (the `send`
/// path does not take `post` yet): snapshot, share count, notification, deleted marker.
@Suite("Sharing posts: the pieces before the send path", .serialized)
struct PostSharingPiecesTests {
    @Test func snapshotShareCountNotificationAndDeletedMarker() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let bob = try await node.register()
        let carol = try await node.register()
        let long = String(repeating: "ab€", count: 200)  // 1,000 bytes
        let id = try await node.createPost(long, as: alice)["id"] as! String
        let posts = node.switchboard.posts
        let snapshot = try await posts.snapshot(of: id)
        #expect(snapshot.author == alice.id)
        #expect(snapshot.text.utf8.count <= 500 && long.hasPrefix(snapshot.text) && snapshot.text.utf8.count > 490)
        #expect(try await posts.shared(id, actor: bob.id) == 1)
        #expect(try await posts.shared(id, actor: carol.id) == 2)
        let fetched = try await node.request("GET", "/api/v1/posts/\(id)", token: bob.accessToken).json["post"] as? [String: Any]
        #expect(fetched?["shares"] as? Int == 2)
        let items = try await node.notification(of: alice) { $0["type"] as? String == "post.shared" }
        #expect(items.filter { $0["type"] as? String == "post.shared" }.map { $0["text"] as? String } == ["2 people shared your post"])

        #expect(try await node.request("DELETE", "/api/v1/posts/\(id)", token: alice.accessToken).status == 204)
        let marked = try await posts.markDeleted([snapshot])
        #expect(marked.first?.deleted == true && marked.first?.text == "")
        await #expect(throws: SwitchboardError.self) { try await posts.snapshot(of: id) }
        await #expect(throws: SwitchboardError.self) { try await posts.shared(id, actor: bob.id) }
        await node.stop()
    }
}
