import Testing

@testable import SwitchboardServer

/// The hub's per-conversation seq tracking: every message is broadcast once,
/// in seq order, and a gap is replayed from the stream before what follows it.
@Suite("Conversation track")
struct ConversationTrackTests {
    typealias Track = ConversationTrack<String>

    @Test func contiguousMessagesAreDeliveredAndRepeatsDropped() {
        var track = Track()
        track.start(at: 4)
        #expect(track.receive("m5", seq: 5) == .deliver)
        #expect(track.receive("m6", seq: 6) == .deliver)
        #expect(track.receive("m6 again", seq: 6) == .drop)
        #expect(track.receive("m3", seq: 3) == .drop)
        #expect(track.lastSeq == 6)
    }

    @Test func eventsWithoutSeqPassThrough() {
        var track = Track(lastSeq: 2)
        #expect(track.receive("typing", seq: nil) == .deliver)
        #expect(track.lastSeq == 2)
    }

    @Test func withoutAKnownSeqTheFirstMessageSetsIt() {
        var track = Track()
        #expect(track.receive("m9", seq: 9) == .deliver)
        #expect(track.lastSeq == 9)
        track.start(at: 3)  // a late subscription reply does not move it back
        #expect(track.lastSeq == 9)
    }

    @Test func aGapIsReplayedThenTheQueuedEventsFollowOnce() {
        var track = Track(lastSeq: 10)
        #expect(track.receive("m13", seq: 13) == .recover(after: 10))
        #expect(track.recovering)
        #expect(track.receive("typing", seq: nil) == .wait)
        #expect(track.receive("m14", seq: 14) == .wait)
        #expect(track.receive("m12 late", seq: 12) == .wait)
        // The stream holds 11…14: the replay covers 11–14, the queued 12/13/14 are not repeated.
        let (replay, live) = track.finishRecovery(after: 10, streamSeqs: [11, 12, 13, 14])
        #expect(replay == [0, 1, 2, 3])
        #expect(live == ["typing"])
        #expect(!track.recovering)
        #expect(track.lastSeq == 14)
        #expect(track.receive("m15", seq: 15) == .deliver)
    }

    @Test func anUnreadableStreamStillDeliversWhatQueued() {
        var track = Track(lastSeq: 1)
        #expect(track.receive("m3", seq: 3) == .recover(after: 1))
        #expect(track.receive("m4", seq: 4) == .wait)
        let (replay, live) = track.finishRecovery(after: 1, streamSeqs: nil)
        #expect(replay.isEmpty)
        #expect(live == ["m3", "m4"])
        #expect(track.lastSeq == 4)
    }

    @Test func aReconnectReplaysFromTheLastSeqOnce() {
        var track = Track(lastSeq: 7)
        #expect(track.reconnected() == 7)
        #expect(track.reconnected() == nil)  // already under way
        #expect(track.receive("m9", seq: 9) == .wait)
        let (replay, live) = track.finishRecovery(after: 7, streamSeqs: [8, 9])
        #expect(replay == [0, 1])
        #expect(live.isEmpty)
        var unknown = Track()
        #expect(unknown.reconnected() == nil)  // nothing known: nothing to replay
    }
}
