import NIOCore

/// WebSocket framing as the bench client needs it: frames read in place
/// from the receive buffer, and client frames written masked with a zero key
/// (valid, and the payload stays as is).
enum BenchFrame {
    static let text: UInt8 = 0x1
    static let close: UInt8 = 0x8
    static let ping: UInt8 = 0x9
    static let pong: UInt8 = 0xA

    /// Calls `body(opcode, final, payload)` for every complete frame at the
    /// start of `bytes`, until it returns false; returns the bytes consumed
    /// (up to and including the frame that stopped it).
    @inline(__always)
    static func forEach(in bytes: UnsafeRawBufferPointer, _ body: (UInt8, Bool, UnsafeRawBufferPointer) -> Bool) -> Int {
        var offset = 0
        let count = bytes.count
        while count - offset >= 2 {
            let first = bytes[offset]
            let second = bytes[offset + 1]
            var length = Int(second & 0x7F)
            var header = 2
            if length == 126 {
                guard count - offset >= 4 else { break }
                length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
                header = 4
            } else if length == 127 {
                guard count - offset >= 10 else { break }
                length = 0
                for k in 2..<10 { length = length << 8 | Int(bytes[offset + k]) }
                header = 10
            }
            if second & 0x80 != 0 { header += 4 }  // servers do not mask; skip the key if one did
            guard count - offset >= header + length else { break }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[(offset + header)..<(offset + header + length)])
            offset += header + length
            guard body(first & 0x0F, first & 0x80 != 0, payload) else { break }
        }
        return offset
    }

    /// One final frame with a zero masking key.
    static func encode(opcode: UInt8, payload: UnsafeRawBufferPointer, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: payload.count + 14)
        buffer.writeInteger(0x80 | opcode)
        if payload.count < 126 {
            buffer.writeInteger(UInt8(0x80 | payload.count))
        } else if payload.count <= 0xFFFF {
            buffer.writeInteger(UInt8(0x80 | 126))
            buffer.writeInteger(UInt16(payload.count))
        } else {
            buffer.writeInteger(UInt8(0x80 | 127))
            buffer.writeInteger(UInt64(payload.count))
        }
        buffer.writeInteger(UInt32(0))  // masking key 0
        buffer.writeBytes(payload)
        return buffer
    }
}
