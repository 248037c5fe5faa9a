import SwitchboardCore

@testable import SwitchboardServer

/// The fields ops read, by name.
private let fieldNames = [
    "id", "op", "token", "conv", "text", "nonce", "seq", "before", "after", "limit", "users", "positions",
    "status", "active", "message", "epoch", "role", "name", "kind",
]

/// libFuzzer entry point: a WebSocket text frame's bytes into
/// `ClientCommand.parse`, then every typed accessor on every field the
/// ops read (and every field sent), as a session's ops would.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientCommand(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    switch ClientCommand.parse(bytes) {
    case .failure(let failure):
        _ = "\(failure)"
    case .success(let command):
        _ = JSONText.quote(command.idJSON)
        for name in Set(fieldNames + command.fields.keys) {
            _ = try? command.string(name)
            _ = try? command.optionalString(name)
            _ = try? command.int(name)
            _ = try? command.optionalInt(name)
            _ = try? command.bool(name)
            _ = try? command.stringArray(name)
            if let object = try? command.object(name) {
                for (key, value) in object {
                    _ = JSONText.quote(key)
                    _ = ClientCommand.integer(value)
                    _ = ClientCommand.encodeID(value)
                }
            }
        }
    }
    return 0
}
