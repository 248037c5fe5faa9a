import NIOCore
import SwitchboardCore

extension WebSocketSession {
    /// `resume`: replays, per conversation, the messages after the client's
    /// position, then the live events that arrived meanwhile (buffered), with
    /// no gap and no duplicate; answers `{recovered, complete, denied}`.
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
        let requested = positions
        let service = live.switchboard.conversations
        let limit = live.configuration.resumeLimit
        let fetched = task { () async -> [(String, Int, Result<([Message], Bool), SwitchboardError>)] in
            var results: [(String, Int, Result<([Message], Bool), SwitchboardError>)] = []
            for (conversation, seq) in requested {
                do {
                    _ = try await service.access(conversation, user: user)
                    let (messages, complete) = try await service.messages(after: seq, in: conversation, limit: limit)
                    results.append((conversation, seq, .success((messages, complete))))
                } catch {
                    results.append((conversation, seq, .failure(SwitchboardError(redis: error))))
                }
            }
            return results
        }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        return fetched.flatMapThrowing { results in
            let session = bound.value
            var recovered: [String] = []
            var denied: [String] = []
            var complete = true
            for (conversation, seq, result) in results {
                let buffered = session.endReplay(conversation)
                switch result {
                case .failure(let error):
                    if error.code == .unavailable || error.code == .internalError { throw error }
                    denied.append(conversation)
                    recovered.append(JSONText.quote(conversation) + ":0")
                case .success(let (messages, whole)):
                    complete = complete && whole
                    var mark = seq
                    for message in messages where message.seq > mark {
                        session.write(ServerFrame.text(#"{"ev":"message","message":"# + JSONText.encode(message) + "}"), flush: false)
                        mark = message.seq
                    }
                    for (frame, frameSeq) in buffered {
                        if let frameSeq {
                            if frameSeq <= mark { continue }
                            mark = frameSeq
                        }
                        session.write(frame, flush: false)
                    }
                    if mark > seq { session.setWatermark(mark, for: conversation) }
                    recovered.append(JSONText.quote(conversation) + ":" + String(messages.count))
                }
            }
            session.flushIfNeeded()
            return #""recovered":{"# + recovered.joined(separator: ",") + #"},"complete":"# + (complete ? "true" : "false")
                + #","denied":["# + denied.map(JSONText.quote).joined(separator: ",") + "]"
        }
    }
}
