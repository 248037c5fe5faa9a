import Foundation
import SwitchboardCore

/// One parsed client frame: its `id` (echoed raw as `re`), `op`, and typed
/// access to the other fields with the contract's errors.
struct ClientCommand: @unchecked Sendable {
    /// The `id` as JSON text (a number or a string), echoed as `re`.
    let idJSON: String
    /// The op, when it is one the protocol knows (`fields["op"]` holds what was sent).
    let op: ClientOp?
    let fields: [String: Any]

    /// Why a frame could not become a command.
    enum ParseFailure: Error, Equatable {
        /// Not a JSON object, or no readable `id`: answered with an `error` event.
        case unreadable(String)
    }

    /// Parses a text frame's bytes (already known to be valid UTF-8).
    static func parse(_ bytes: [UInt8]) -> Result<ClientCommand, ParseFailure> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            return .failure(.unreadable("a frame must be one JSON object"))
        }
        guard let id = object["id"], let idJSON = encodeID(id) else {
            return .failure(.unreadable("a command needs an id (number or string)"))
        }
        return .success(ClientCommand(idJSON: idJSON, op: (object["op"] as? String).flatMap(ClientOp.init(rawValue:)), fields: object))
    }

    /// The JSON text of an id: integers, finite numbers and strings up to 200 bytes.
    static func encodeID(_ value: Any) -> String? {
        if isBoolean(value) { return nil }
        if let string = value as? String {
            guard string.utf8.count <= 200 else { return nil }
            return JSONText.quote(string)
        }
        if let number = value as? Int { return String(number) }
        if let number = value as? Double, number.isFinite {
            if number == number.rounded(), abs(number) < 1e15 { return String(Int(number)) }
            return String(number)
        }
        return nil
    }

    func string(_ name: String, maxLength: Int = 4096 * 4) throws(SwitchboardError) -> String {
        guard let value = fields[name] else { throw .invalid("missing field: \(name)") }
        guard let string = value as? String else { throw .invalid("wrong type for field \(name) (expected string)") }
        guard string.utf8.count <= maxLength else { throw SwitchboardError(.tooLarge, "field \(name) is too long") }
        return string
    }

    func optionalString(_ name: String, maxLength: Int = 256) throws(SwitchboardError) -> String? {
        guard let value = fields[name], !(value is NSNull) else { return nil }
        guard let string = value as? String else { throw .invalid("wrong type for field \(name) (expected string)") }
        guard string.utf8.count <= maxLength else { throw SwitchboardError(.tooLarge, "field \(name) is too long") }
        return string
    }

    func int(_ name: String) throws(SwitchboardError) -> Int {
        guard let value = fields[name] else { throw .invalid("missing field: \(name)") }
        guard let number = Self.integer(value) else { throw .invalid("wrong type for field \(name) (expected integer)") }
        return number
    }

    func optionalInt(_ name: String) throws(SwitchboardError) -> Int? {
        guard let value = fields[name], !(value is NSNull) else { return nil }
        guard let number = Self.integer(value) else { throw .invalid("wrong type for field \(name) (expected integer)") }
        return number
    }

    func bool(_ name: String) throws(SwitchboardError) -> Bool {
        guard let value = fields[name] else { throw .invalid("missing field: \(name)") }
        guard Self.isBoolean(value), let flag = value as? Bool else {
            throw .invalid("wrong type for field \(name) (expected boolean)")
        }
        return flag
    }

    func stringArray(_ name: String, maxCount: Int = 1000) throws(SwitchboardError) -> [String] {
        guard let value = fields[name] else { throw .invalid("missing field: \(name)") }
        guard let array = value as? [Any] else { throw .invalid("wrong type for field \(name) (expected array of strings)") }
        guard array.count <= maxCount else { throw .invalid("field \(name): at most \(maxCount) entries") }
        var result: [String] = []
        for element in array {
            guard let string = element as? String else { throw .invalid("wrong type for field \(name) (expected array of strings)") }
            result.append(string)
        }
        return result
    }

    /// A `send`'s `attachments`, `replyTo` and `post`.
    func sendOptions() throws(SwitchboardError) -> SendOptions {
        var options = SendOptions()
        if let value = fields["attachments"], !(value is NSNull) {
            options.attachments = try stringArray("attachments", maxCount: 1000)
        }
        options.replyTo = try optionalString("replyTo", maxLength: 64)
        options.post = try optionalString("post", maxLength: 64)
        return options
    }

    func object(_ name: String) throws(SwitchboardError) -> [String: Any] {
        guard let value = fields[name] else { throw .invalid("missing field: \(name)") }
        guard let object = value as? [String: Any] else { throw .invalid("wrong type for field \(name) (expected object)") }
        return object
    }

    static func integer(_ value: Any) -> Int? {
        if isBoolean(value) { return nil }
        if let number = value as? Int { return number }
        if let number = value as? Double, number == number.rounded(), abs(number) < 1e15 { return Int(number) }
        return nil
    }

    /// Whether a JSONSerialization value is a JSON boolean (on Linux booleans also cast to Int).
    static func isBoolean(_ value: Any) -> Bool {
        if value is String { return false }
        if let number = value as? NSNumber { return String(cString: number.objCType) == "c" }
        return false
    }
}

/// Small helpers to write JSON text by hand on hot paths.
enum JSONText {
    /// A JSON string literal.
    static func quote(_ string: String) -> String {
        var out = "\""
        out.reserveCapacity(string.utf8.count + 2)
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
        return out
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    /// The JSON text of an encodable value.
    static func encode(_ value: some Encodable) -> String {
        String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    /// The JSON text of a JSONSerialization-compatible value.
    static func serialize(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.withoutEscapingSlashes]) else {
            return "null"
        }
        return String(decoding: data, as: UTF8.self)
    }
}
