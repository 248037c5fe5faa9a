/// A reply from Redis (RESP2), as hiredis' reader parsed it.
///
/// Bulk strings stay bytes so values are binary safe; the typed accessors
/// decode them on demand.
public enum RedisValue: Sendable, Hashable {
    /// A simple status reply such as `OK` or `PONG`.
    case status(String)
    /// An error reply; the text is Redis' own (`WRONGTYPE Operation against ...`).
    case error(String)
    /// An integer reply.
    case integer(Int64)
    /// A bulk string, binary safe.
    case bulk([UInt8])
    /// A null bulk string or null array.
    case null
    /// An array reply; elements may be nested arrays, nulls or errors.
    case array([RedisValue])
}

extension RedisValue {
    /// The value as text: status and bulk replies (UTF-8 decoded, lossy), integers in decimal.
    public var string: String? {
        switch self {
        case .status(let text): return text
        case .bulk(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .integer(let value): return String(value)
        case .error, .null, .array: return nil
        }
    }

    /// The value as an integer: integer replies, and bulk or status replies holding a decimal number.
    public var int: Int? {
        switch self {
        case .integer(let value): return Int(value)
        case .bulk, .status: return string.flatMap { Int($0) }
        case .error, .null, .array: return nil
        }
    }

    /// The value as a double (Redis sends scores and floats as bulk strings).
    public var double: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .bulk, .status: return string.flatMap { Double($0) }
        case .error, .null, .array: return nil
        }
    }

    /// The raw bytes of a bulk or status reply.
    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let bytes): return bytes
        case .status(let text): return Array(text.utf8)
        case .integer, .error, .null, .array: return nil
        }
    }

    /// The elements of an array reply.
    public var array: [RedisValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    /// Whether this is a null reply.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The error text when this is an error reply.
    public var errorMessage: String? {
        if case .error(let text) = self { return text }
        return nil
    }

    /// An array of field/value pairs (HGETALL, XRANGE entry fields) as a dictionary of strings.
    public var stringPairs: [String: String]? {
        guard let values = array, values.count % 2 == 0 else { return nil }
        var result: [String: String] = [:]
        result.reserveCapacity(values.count / 2)
        var index = 0
        while index < values.count {
            if let key = values[index].string, let value = values[index + 1].string { result[key] = value }
            index += 2
        }
        return result
    }

    /// Throws the error reply as a `RedisError`, else returns the value itself.
    public func throwingError() throws -> RedisValue {
        if case .error(let text) = self { throw RedisError.server(text) }
        return self
    }
}

extension RedisValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .status(let text): return text
        case .error(let text): return "(error) \(text)"
        case .integer(let value): return "(integer) \(value)"
        case .bulk(let bytes): return "\"\(String(decoding: bytes, as: UTF8.self))\""
        case .null: return "(nil)"
        case .array(let values): return "[" + values.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
