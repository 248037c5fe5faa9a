/// What a text frame from the server means to the bench client, found by
/// byte patterns (`Needle`) instead of JSON decoding: a reply to an op, a
/// message event (its `seq` and the send time the bench put in its text as
/// `t=<monotonic µs>`), or anything else.
enum BenchEvent: Equatable {
    /// `{"re":id,...}`: `seq` and `sent` are read from successful replies only.
    case reply(id: UInt64, ok: Bool, seq: UInt64?, sent: UInt64?)
    case message(seq: UInt64, sent: UInt64)
    case other

    @inline(__always)
    static func parse(_ payload: UnsafeRawBufferPointer) -> BenchEvent {
        if payload.starts(with: Needle.replyStart) {
            let id = number(in: payload, at: Needle.replyStart.count) ?? 0
            guard find(Needle.okTrue, in: payload, from: 0) != nil else { return .reply(id: id, ok: false, seq: nil, sent: nil) }
            guard id != 0 else { return .reply(id: 0, ok: true, seq: nil, sent: nil) }
            return .reply(id: id, ok: true, seq: value(after: Needle.seq, in: payload), sent: value(after: Needle.stamp, in: payload))
        }
        guard find(Needle.message, in: payload, from: 0) != nil,
            let seq = value(after: Needle.seq, in: payload),
            let sent = value(after: Needle.stamp, in: payload)
        else { return .other }
        return .message(seq: seq, sent: sent)
    }

    /// The number right after the first `needle`.
    @inline(__always)
    private static func value(after needle: [UInt8], in payload: UnsafeRawBufferPointer) -> UInt64? {
        guard let at = find(needle, in: payload, from: 0) else { return nil }
        return number(in: payload, at: at + needle.count)
    }
}
