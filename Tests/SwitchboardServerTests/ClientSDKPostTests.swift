import Foundation
import SwitchboardClient
import SwitchboardCore
import SwitchboardTestSupport
import Testing

/// Collects the `.post` events an SDK client reports.
actor PostEventLog {
    var posts: [Post] = []
    func add(_ event: ChatEvent) {
        if case .post(let post) = event { posts.append(post) }
    }

    func wait(for id: String) async throws -> Post? {
        for _ in 0..<400 {
            if let post = posts.first(where: { $0.id == id }) { return post }
            try await Task.sleep(nanoseconds: 25_000_000)
        }
        return nil
    }
}

@Suite("Swift client SDK: posts", .serialized)
struct ClientSDKPostTests {
    static func client(_ node: TestNode, _ account: TestNode.Account) -> SwitchboardClient {
        SwitchboardClient(configuration: .init(endpoints: [("127.0.0.1", node.port)], token: { account.accessToken }))
    }

    static func code(_ body: () async throws -> Void) async -> ErrorCode? {
        do { try await body() } catch let error as ChatError { return error.code } catch { return ErrorCode(rawValue: "unexpected: \(error)") }
        return nil
    }

    @Test func postsFollowsFeedLikesAndCommentsThroughTheSDK() async throws {
        let (a, b) = try await TestNode.pair {
            $0.posts.postsPerMinute = 1000
            $0.posts.commentsPerMinute = 1000
        }
        let alice = try await a.register()
        let bob = try await b.register()
        let authorClient = Self.client(a, alice)
        let readerClient = Self.client(b, bob)
        let log = PostEventLog()
        let collector = Task { for await event in readerClient.events { await log.add(event) } }
        try await readerClient.connect()

        // Follow, and the lists and counts that show it.
        try await readerClient.follow(alice.id)
        #expect(try await authorClient.followers(of: alice.id).items.map(\.id) == [bob.id])
        #expect(try await readerClient.following(of: bob.id).items.map(\.id) == [alice.id])

        // A post reaches the follower live (another node) and in the feed.
        let first = try await authorClient.createPost("hello from the SDK")
        #expect(first.author == alice.id && first.text == "hello from the SDK" && first.likes == 0)
        #expect(try await log.wait(for: first.id) == first)
        var ids = [first.id]
        for index in 1..<5 {
            try await Task.sleep(nanoseconds: 2_000_000)  // a distinct createdAt each: a definite order
            ids.append(try await authorClient.createPost("post \(index)").id)
        }
        let newestFirst = Array(ids.reversed())
        var feed: [String] = []
        for _ in 0..<400 where feed != newestFirst {
            feed = try await readerClient.feed().items.map(\.id)
            if feed != newestFirst { try await Task.sleep(nanoseconds: 25_000_000) }
        }
        #expect(feed == newestFirst)
        // Paging with `next`.
        var pages: [[String]] = []
        var cursor: String?
        repeat {
            let page = try await readerClient.feed(before: cursor, limit: 2)
            pages.append(page.items.map(\.id))
            cursor = page.next
        } while cursor != nil && pages.count < 10
        #expect(pages == [Array(newestFirst[0..<2]), Array(newestFirst[2..<4]), [newestFirst[4]]])
        #expect(try await readerClient.posts(of: alice.id, limit: 3).items.map(\.id) == Array(newestFirst[0..<3]))

        // Likes: once per user, counted.
        #expect(try await readerClient.like(first.id) == 1)
        #expect(try await readerClient.like(first.id) == 1)
        #expect(try await authorClient.like(first.id) == 2)
        #expect(try await readerClient.unlike(first.id) == 1)
        #expect(try await readerClient.post(first.id).likes == 1)

        // Comments: add, list newest first, delete own.
        let comment = try await readerClient.comment(on: first.id, text: "nice")
        let second = try await authorClient.comment(on: first.id, text: "thanks")
        #expect(comment.from == bob.id && comment.post == first.id)
        #expect(try await readerClient.comments(on: first.id).items.map(\.id) == [second.id, comment.id])
        #expect(await Self.code { try await readerClient.deleteComment(second.id, on: first.id) } == .forbidden)
        try await readerClient.deleteComment(comment.id, on: first.id)
        #expect(try await readerClient.comments(on: first.id).items.map(\.text) == ["thanks"])

        // Edit (author only), errors with the server's code, delete.
        let edited = try await authorClient.editPost(first.id, text: "edited")
        #expect(edited.text == "edited" && edited.editedAt != nil)
        #expect(await Self.code { _ = try await readerClient.editPost(first.id, text: "mine") } == .forbidden)
        #expect(await Self.code { _ = try await authorClient.createPost(String(repeating: "x", count: 4097)) } == .tooLarge)
        try await authorClient.deletePost(first.id)
        #expect(await Self.code { _ = try await readerClient.post(first.id) } == .notFound)
        #expect(!(try await readerClient.feed().items.map(\.id).contains(first.id)))

        // Unfollow: the next post neither arrives live nor enters the feed.
        try await readerClient.unfollow(alice.id)
        #expect(try await authorClient.followers(of: alice.id).items.isEmpty)
        let after = try await authorClient.createPost("after the unfollow")
        let marker = try await b.register()
        try await readerClient.follow(marker.id)
        let markerPost = try await Self.client(b, marker).createPost("marker")
        #expect(try await log.wait(for: markerPost.id) != nil)
        #expect(!(await log.posts.map(\.id).contains(after.id)))

        await readerClient.close()
        collector.cancel()
        await a.stop()
        await b.stop()
    }

    @Test func restCallsWorkWithoutTheWebSocketAndRefuseBadTokens() async throws {
        let node = try await TestNode.start()
        let alice = try await node.register()
        let client = Self.client(node, alice)
        let post = try await client.createPost("REST only")
        #expect(try await client.post(post.id) == post)
        let stranger = SwitchboardClient(configuration: .init(endpoints: [("127.0.0.1", node.port)], token: { "not-a-token" }))
        #expect(await Self.code { _ = try await stranger.feed() } == .unauthorized)
        await node.stop()
    }
}
