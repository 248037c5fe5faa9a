import NIOCore
import NIOWebSocket

/// Server-to-client WebSocket frames encoded as bytes, header included
/// (RFC 6455 §5.2; a server never masks). A broadcast is encoded once per
/// node and the same buffer is written to every recipient, past NIO's
/// `WebSocketFrameEncoder` (which would allocate a header buffer per write
/// for a buffer that is shared).
enum ServerFrame {
    static let allocator = ByteBufferAllocator()

    /// A final frame of `length` payload bytes, which `payload` writes after the header.
    static func make(_ opcode: WebSocketOpcode, length: Int, _ payload: (inout ByteBuffer) -> Void) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: (length < 126 ? 2 : length <= 0xFFFF ? 4 : 10) + length)
        buffer.writeInteger(0x80 | UInt8(webSocketOpcode: opcode))
        if length < 126 {
            buffer.writeInteger(UInt8(length))
        } else if length <= 0xFFFF {
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(length))
        } else {
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(length))
        }
        payload(&buffer)
        return buffer
    }

    /// A text frame of a string's UTF-8 bytes.
    static func text(_ string: String) -> ByteBuffer {
        make(.text, length: string.utf8.count) { $0.writeString(string) }
    }

    /// A text frame of bytes (already valid UTF-8 JSON).
    static func text(bytes: some Collection<UInt8>) -> ByteBuffer {
        make(.text, length: bytes.count) { $0.writeBytes(bytes) }
    }

    /// A control or data frame around a payload buffer.
    static func frame(_ opcode: WebSocketOpcode, payload: ByteBuffer) -> ByteBuffer {
        make(opcode, length: payload.readableBytes) { $0.writeImmutableBuffer(payload) }
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
