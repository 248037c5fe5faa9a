import NIOCore
import SwitchboardCore

extension WebSocketSession {
    /// What `resume` found so far, conversation by conversation.
    struct ResumeProgress {
        var recovered: [String] = []
        var denied: [String] = []
        var complete = true
    }

    /// `resume`: replays, per conversation, the messages after the client's
    /// position, then the live events that arrived meanwhile (buffered), with
    /// no gap and no duplicate; answers `{recovered, complete, denied}`.
    ///
    /// One conversation at a time, and at the client's pace: the replay
    /// writes while the socket takes frames and waits for it to drain before
    /// the next ones, so it never fills the outbound queue (4008 is for live
    /// traffic) and holds one conversation's messages at most.
    func resume(_ command: ClientCommand, user: String) throws(SwitchboardError) -> EventLoopFuture<String> {
        let raw = try command.object("positions")
        guard raw.count <= 1000 else { throw .invalid("positions: at most 1000 conversations") }
        var positions: [(String, Int)] = []
        for (conversation, value) in raw.sorted(by: { $0.key < $1.key }) {
            guard let seq = ClientCommand.integer(value), seq >= 0 else {
                throw .invalid("positions.\(conversation) must be a non-negative integer")
            }
            positions.append((conversation, seq))
        }
        // From here on, live events of these conversations wait behind the replay.
        beginReplay(positions.map(\.0))
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        var chain = eventLoop.makeSucceededFuture(ResumeProgress())
        for (conversation, seq) in positions {
            chain = chain.flatMap { progress in
                bound.value.replay(conversation, after: seq, user: user, progress: progress)
            }
        }
        return chain.map { progress in
            #""recovered":{"# + progress.recovered.joined(separator: ",") + #"},"complete":"# + (progress.complete ? "true" : "false")
                + #","denied":["# + progress.denied.map(JSONText.quote).joined(separator: ",") + "]"
        }.flatMapErrorThrowing { error in
            // (Redis unavailable, or the connection closed meanwhile: no conversation stays buffered.)
            for (conversation, _) in positions { _ = bound.value.endReplay(conversation) }
            throw error
        }
    }

    /// Fetches and writes one conversation's replay, then its buffered live events.
    func replay(_ conversation: String, after seq: Int, user: String, progress: ResumeProgress) -> EventLoopFuture<ResumeProgress> {
        let service = live.switchboard.conversations
        let limit = live.configuration.resumeLimit
        let fetched = task { () async -> Result<([Message], Bool), SwitchboardError> in
            do {
                _ = try await service.access(conversation, user: user)
                return .success(try await service.messages(after: seq, in: conversation, limit: limit))
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
            case .success(let (messages, whole)):
                progress.complete = progress.complete && whole
                progress.recovered.append(JSONText.quote(conversation) + ":" + String(messages.count))
                return session.writeReplay(messages, from: 0, mark: seq).map { mark in
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
                    if mark > seq { session.setWatermark(mark, for: conversation) }
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
