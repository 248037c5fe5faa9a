import NIOCore

@testable import RedisClient

/// libFuzzer entry point: bytes from a (hostile or broken) Redis server into
/// the RESP2 reply parser, fed in chunks whose size the first byte picks, as
/// replies arrive split across reads. Every complete reply is taken; a
/// protocol error ends the input, as it ends the connection.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    guard let first = input.first else { return 0 }
    let chunk = Int(first % 32) + 1
    let parser = RedisReplyParser()
    var offset = 1
    do {
        while offset < input.count {
            let end = min(offset + chunk, input.count)
            try parser.feed(ByteBuffer(bytes: input[offset..<end]))
            offset = end
            while let value = try parser.next() { _ = "\(value)" }
        }
    } catch {
        _ = "\(error)"
    }
    return 0
}
