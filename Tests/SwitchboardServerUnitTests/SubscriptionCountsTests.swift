import Testing

@testable import SwitchboardServer

/// A channel is subscribed by the first local session that needs it and
/// unsubscribed when the last one lets it go.
@Suite("Subscription counts")
struct SubscriptionCountsTests {
    @Test func firstRetainSubscribesLastReleaseUnsubscribes() {
        var counts = SubscriptionCounts()
        #expect(counts.retain(["a", "b"]) == ["a", "b"])
        #expect(counts.retain(["a"]) == [])
        #expect(counts.count(of: "a") == 2)
        #expect(counts.release(["a", "b"]) == ["b"])
        #expect(counts.release(["a"]) == ["a"])
        #expect(counts.channels == 0)
    }

    @Test func releasingAnUnknownChannelDoesNothing() {
        var counts = SubscriptionCounts()
        #expect(counts.release(["x"]) == [])
        #expect(counts.retain(["x"]) == ["x"])
    }
}
