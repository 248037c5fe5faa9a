import NIOCore

/// Server-to-client WebSocket frames encoded as bytes, header included
/// (RFC 6455 §5.2; a server never masks). A broadcast is encoded once per
/// node and the same buffer is written to every recipient, past NIO's
/// `WebSocketFrameEncoder` (which would allocate a header buffer per write
/// for a buffer that is shared).
enum ServerFrame {
    static let text: UInt8 = 0x1
    static let close: UInt8 = 0x8
    static let ping: UInt8 = 0x9
    static let pong: UInt8 = 0xA
    static let allocator = ByteBufferAllocator()

    /// The header's length for a payload of `length` bytes.
    static func headerLength(payload length: Int) -> Int {
        length < 126 ? 2 : (length <= 0xFFFF ? 4 : 10)
    }

    /// Writes a final frame's header (FIN set, no mask) for a payload of `length` bytes.
    static func writeHeader(opcode: UInt8, payload length: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(0x80 | opcode)
        if length < 126 {
            buffer.writeInteger(UInt8(length))
        } else if length <= 0xFFFF {
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(length))
        } else {
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(length))
        }
    }

    /// A text frame of a string's UTF-8 bytes.
    static func text(_ string: String) -> ByteBuffer {
        let count = string.utf8.count
        var buffer = allocator.buffer(capacity: headerLength(payload: count) + count)
        writeHeader(opcode: text, payload: count, into: &buffer)
        buffer.writeString(string)
        return buffer
    }

    /// A text frame of bytes (already valid UTF-8 JSON).
    static func text(bytes: some Collection<UInt8>) -> ByteBuffer {
        let count = bytes.count
        var buffer = allocator.buffer(capacity: headerLength(payload: count) + count)
        writeHeader(opcode: text, payload: count, into: &buffer)
        buffer.writeBytes(bytes)
        return buffer
    }

    /// A control or data frame around a payload buffer.
    static func frame(opcode: UInt8, payload: ByteBuffer) -> ByteBuffer {
        let count = payload.readableBytes
        var buffer = allocator.buffer(capacity: headerLength(payload: count) + count)
        writeHeader(opcode: opcode, payload: count, into: &buffer)
        buffer.writeImmutableBuffer(payload)
        return buffer
    }

    /// The payload of an encoded frame (for tests and logs).
    static func payload(of frame: ByteBuffer) -> ByteBuffer {
        var frame = frame
        guard let first = frame.readInteger(as: UInt8.self), first & 0x80 != 0,
            let length = frame.readInteger(as: UInt8.self)
        else { return ByteBuffer() }
        switch length & 0x7F {
        case 126: frame.moveReaderIndex(forwardBy: 2)
        case 127: frame.moveReaderIndex(forwardBy: 8)
        default: break
        }
        return frame
    }
}
