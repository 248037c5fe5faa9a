import Foundation
import RedisClient
import SwitchboardCore
import Testing

/// The `post` event of an author merged at read time (more followers than
/// `--feed-fanout-max`): one broadcast, each node checking its own users.
@Suite("Live posts of read-time authors", .serialized)
struct ReadTimeLivePostTests {
    @Test func oneBroadcastReachesOnlineFollowersOnEveryNodeAndNobodyElse() async throws {
        let (a, b) = try await PostTests.pair(fanoutMax: 0)
        let star = try await a.register()
        let marker = try await a.register()
        let bob = try await b.register()  // follows the star, connected to node b
        let carol = try await a.register()  // follows the star, connected to node a
        let erin = try await b.register()  // follows only the marker
        try await b.follow(star, as: bob)
        try await a.follow(star, as: carol)
        try await a.follow(marker, as: erin)
        // 2,000 followers who never connect: the live pass does not visit them.
        let offline = (0..<2000).flatMap { ["1", "u_offline\($0)"] }
        _ = try await a.redis.execute(RedisCommand("ZADD", [a.keys.followers(star.id)] + offline))
        let bobLive = try await LiveClient.authenticated(b, bob)
        let carolLive = try await LiveClient.authenticated(a, carol)
        let erinLive = try await LiveClient.authenticated(b, erin)
        let starLive = try await LiveClient.authenticated(a, star)

        let posts = a.switchboard.posts
        let post = try await posts.create(author: star.id, text: "to my fans")
        let result = try await posts.fanOut(post)
        #expect(!result.pushed && result.followers == 2002)
        #expect(result.eventsPublished == 1)  // one broadcast, not one event per online follower
        for live in [bobLive, carolLive] {
            let event = try await live.event("post")
            #expect((event["post"] as? [String: Any])?["id"] as? String == post.id)
            #expect((event["post"] as? [String: Any])?["text"] as? String == "to my fans")
        }
        // The marker's post comes after: by then the star's would have reached Erin too.
        let markers = try await posts.fanOut(try await posts.create(author: marker.id, text: "marker"))
        #expect(markers.eventsPublished == 1)
        let markerEvent = try await erinLive.event("post")
        #expect((markerEvent["post"] as? [String: Any])?["author"] as? String == marker.id)
        #expect(erinLive.received { $0["ev"] as? String == "post" }.isEmpty)  // `event` took the marker's
        #expect(starLive.received { $0["ev"] as? String == "post" }.isEmpty)  // the author gets none
        #expect(bobLive.received { $0["ev"] as? String == "post" }.isEmpty)  // once, though both nodes got the broadcast
        // The feed still merges it at read time.
        #expect(try await b.feed(of: bob, until: { $0.contains(post.id) }).first == post.id)

        for live in [bobLive, carolLive, erinLive, starLive] { await live.close() }
        await a.stop()
        await b.stop()
    }
}
