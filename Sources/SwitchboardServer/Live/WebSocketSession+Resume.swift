import Foundation
import NIOCore
import SwitchboardCore

extension WebSocketSession {
    /// What `resume` found so far, conversation by conversation.
    struct ResumeProgress {
        var recovered: [String] = []
        var denied: [String] = []
        /// Positions of another epoch: replayed from the conversation's start.
        var reset: [String] = []
        var complete = true
    }

    /// One conversation's resume position: `seq`, or `{seq, epoch}`.
    struct ResumePosition {
        var conversation: String
        var seq: Int
        /// The epoch the client's position belongs to (nil: v1 position, not checked).
        var epoch: String?

        init(conversation: String, value: Any) throws(SwitchboardError) {
            self.conversation = conversation
            if let object = value as? [String: Any] {
                guard let seq = object["seq"].flatMap(ClientCommand.integer), seq >= 0 else {
                    throw .invalid("positions.\(conversation).seq must be a non-negative integer")
                }
                self.seq = seq
                if let epoch = object["epoch"], !(epoch is NSNull) {
                    guard let text = epoch as? String, text.utf8.count <= 64 else {
                        throw .invalid("positions.\(conversation).epoch must be a string of at most 64 bytes")
                    }
                    self.epoch = text
                }
            } else {
                guard let seq = ClientCommand.integer(value), seq >= 0 else {
                    throw .invalid("positions.\(conversation) must be a non-negative integer or {seq, epoch}")
                }
                self.seq = seq
            }
        }
    }

    /// `resume`: replays, per conversation, the messages after the client's
    /// position, then the live events that arrived meanwhile (buffered), with
    /// no gap and no duplicate; answers `{recovered, complete, denied}`, plus
    /// `reset` when some position carried an epoch that is not the
    /// conversation's current one (deleted and opened again): that
    /// conversation is replayed from its start instead.
    ///
    /// One conversation at a time, and at the client's pace: the replay
    /// writes while the socket takes frames and waits for it to drain before
    /// the next ones, so it never fills the outbound queue (4008 is for live
    /// traffic) and holds one conversation's messages at most.
    func resume(_ command: ClientCommand, user: String) throws(SwitchboardError) -> EventLoopFuture<String> {
        let raw = try command.object("positions")
        guard raw.count <= 1000 else { throw .invalid("positions: at most 1000 conversations") }
        var positions: [ResumePosition] = []
        for (conversation, value) in raw.sorted(by: { $0.key < $1.key }) {
            positions.append(try ResumePosition(conversation: conversation, value: value))
        }
        // From here on, live events of these conversations wait behind the replay.
        beginReplay(positions.map(\.conversation))
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        var chain = eventLoop.makeSucceededFuture(ResumeProgress())
        for position in positions {
            chain = chain.flatMap { progress in
                bound.value.replay(position.conversation, after: position.seq, epoch: position.epoch, user: user, progress: progress)
            }
        }
        return chain.map { progress in
            var reply =
                #""recovered":{"# + progress.recovered.joined(separator: ",") + #"},"complete":"# + (progress.complete ? "true" : "false")
                + #","denied":["# + progress.denied.map(JSONText.quote).joined(separator: ",") + "]"
            if !progress.reset.isEmpty { reply += #","reset":["# + progress.reset.map(JSONText.quote).joined(separator: ",") + "]" }
            return reply
        }.flatMapErrorThrowing { error in
            // (Redis unavailable, or the connection closed meanwhile: no conversation stays buffered.)
            for position in positions { _ = bound.value.endReplay(position.conversation) }
            throw error
        }
    }

    /// Fetches and writes one conversation's replay, then its buffered live
    /// events. A position of another epoch (`epoch` given and not the
    /// conversation's; a conversation without one counts as epoch "") is
    /// reset: the replay starts from seq 0 of the current epoch.
    func replay(
        _ conversation: String, after seq: Int, epoch: String? = nil, user: String, progress: ResumeProgress
    ) -> EventLoopFuture<ResumeProgress> {
        let service = live.switchboard.conversations
        let limit = live.configuration.resumeLimit
        let fetched = task { () async -> Result<([Message], Bool, Bool), SwitchboardError> in
            do {
                let (current, _) = try await service.access(conversation, user: user)
                let reset = epoch.map { $0 != (current.epoch ?? "") } ?? false
                let (messages, complete) = try await service.messages(
                    after: reset ? 0 : seq, in: conversation, limit: limit, epoch: current.epoch)
                return .success((messages, complete, reset))
            } catch {
                return .failure(SwitchboardError(redis: error))
            }
        }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        return fetched.flatMap { result in
            let session = bound.value
            var progress = progress
            switch result {
            case .failure(let error):
                if error.code == .unavailable || error.code == .internalError { return session.eventLoop.makeFailedFuture(error) }
                _ = session.endReplay(conversation)
                progress.denied.append(conversation)
                progress.recovered.append(JSONText.quote(conversation) + ":0")
                return session.eventLoop.makeSucceededFuture(progress)
            case .success(let (messages, whole, reset)):
                progress.complete = progress.complete && whole
                progress.recovered.append(JSONText.quote(conversation) + ":" + String(messages.count))
                if reset { progress.reset.append(conversation) }
                let start = reset ? 0 : seq
                return session.writeReplay(messages, from: 0, mark: start).map { mark in
                    let session = bound.value
                    var mark = mark
                    // Live events that arrived meanwhile, without the replayed ones.
                    for (frame, frameSeq) in session.endReplay(conversation) {
                        if let frameSeq {
                            if frameSeq <= mark { continue }
                            mark = frameSeq
                        }
                        session.write(frame, flush: false)
                    }
                    // (After a reset, also replaces a watermark of the old epoch.)
                    if mark > start || reset { session.setWatermark(mark, for: conversation) }
                    session.flushIfNeeded()
                    return progress
                }
            }
        }
    }

    /// Writes replayed messages while the socket takes them; waits for it to
    /// drain, then goes on. Answers the highest seq written.
    private func writeReplay(_ messages: [Message], from start: Int, mark: Int) -> EventLoopFuture<Int> {
        var index = start
        var mark = mark
        while index < messages.count {
            if isClosing { return eventLoop.makeFailedFuture(SwitchboardError(.unavailable, "the connection closed")) }
            guard isWriterReady else {
                flushIfNeeded()
                let bound = NIOLoopBound(self, eventLoop: eventLoop)
                return whenWriterReady().flatMap { [index, mark] in bound.value.writeReplay(messages, from: index, mark: mark) }
            }
            let message = messages[index]
            index += 1
            guard message.seq > mark else { continue }
            write(ServerFrame.text(#"{"ev":"message","message":"# + JSONText.encode(message) + "}"), flush: false)
            mark = message.seq
        }
        return eventLoop.makeSucceededFuture(mark)
    }
}

extension WebSocketSession {
    /// A conversation was just joined (`added`): its live events wait from
    /// here on, until `fill` wrote what the stream has after the add.
    func beginFill(_ conversation: String) {
        guard conversations.contains(conversation), !hasReplay(conversation) else { return }
        startReplayBuffer(conversation)
    }

    /// After `added` (the subscription is live): writes the messages after
    /// `seq` (the conversation's seq at the add) from the stream, then the
    /// live events that waited, without duplicates. A message sent between
    /// the add and the subscription therefore still arrives, in order.
    func fill(_ conversation: String, after seq: Int) {
        guard let user = userID, !isClosing else {
            _ = endReplay(conversation)
            return
        }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        replay(conversation, after: seq, user: user, progress: ResumeProgress()).whenFailure { _ in
            _ = bound.value.endReplay(conversation)
        }
    }
}
