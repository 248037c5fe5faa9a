import NIOCore

/// Frames waiting while the socket is not writable, bounded in frames and
/// bytes. Holds no buffer while empty (the common case: idle connections).
struct OutboundQueue {
    let maxFrames: Int
    let maxBytes: Int
    private(set) var frames: CircularBuffer<ByteBuffer>?
    private(set) var bytes = 0

    init(maxFrames: Int, maxBytes: Int) {
        self.maxFrames = maxFrames
        self.maxBytes = maxBytes
    }

    var isEmpty: Bool { frames == nil }

    /// Appends a frame; false when the queue overflowed (the consumer is too slow).
    mutating func append(_ frame: ByteBuffer) -> Bool {
        if frames == nil { frames = CircularBuffer(initialCapacity: 4) }
        frames!.append(frame)
        bytes += frame.readableBytes
        return frames!.count <= maxFrames && bytes <= maxBytes
    }

    mutating func popFirst() -> ByteBuffer? {
        guard let frame = frames?.popFirst() else { return nil }
        bytes -= frame.readableBytes
        if frames?.isEmpty == true { frames = nil }
        return frame
    }

    mutating func removeAll() {
        frames = nil
        bytes = 0
    }
}
