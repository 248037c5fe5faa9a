import CHiredis
import NIOCore

/// Encodes commands to RESP with hiredis' `redisFormatCommandArgv`.
enum RedisCommandEncoder {
    /// Appends the RESP encoding of `command` to `buffer`.
    static func encode(_ command: RedisCommand, into buffer: inout ByteBuffer) {
        let arguments = command.arguments
        let count = arguments.count
        // One contiguous copy of all arguments, then pointers into it.
        var joined: [UInt8] = []
        joined.reserveCapacity(arguments.reduce(0) { $0 + $1.count } + 1)
        var offsets: [Int] = []
        offsets.reserveCapacity(count)
        var lengths: [Int] = []
        lengths.reserveCapacity(count)
        for argument in arguments {
            offsets.append(joined.count)
            lengths.append(argument.count)
            joined.append(contentsOf: argument)
        }
        joined.append(0)
        joined.withUnsafeBufferPointer { storage in
            let base = UnsafeRawPointer(storage.baseAddress!).assumingMemoryBound(to: CChar.self)
            var pointers: [UnsafePointer<CChar>?] = offsets.map { base + $0 }
            var target: UnsafeMutablePointer<CChar>?
            let length = pointers.withUnsafeMutableBufferPointer { argv in
                lengths.withUnsafeBufferPointer { argvlen in
                    redisFormatCommandArgv(&target, Int32(count), argv.baseAddress, argvlen.baseAddress)
                }
            }
            guard length > 0, let target else { fatalError("hiredis: out of memory formatting a command") }
            defer { redisFreeCommand(target) }
            buffer.writeBytes(UnsafeRawBufferPointer(start: target, count: Int(length)))
        }
    }

    /// The RESP encoding of several commands in one buffer (one write for a pipeline).
    static func encode(_ commands: [RedisCommand], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64 * commands.count)
        for command in commands { encode(command, into: &buffer) }
        return buffer
    }
}
