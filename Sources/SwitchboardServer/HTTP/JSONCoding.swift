import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

extension Request {
    /// Decodes a JSON body with the contract's errors: 413 `too_large` over
    /// the limit, 400 `invalid_request` naming the field for missing or
    /// wrong-typed fields. Unknown fields are ignored.
    mutating func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await collectBody(upTo: limit)
        } catch {
            throw SwitchboardError(.tooLarge, "request body over \(limit) bytes")
        }
        return try JSONCoding.decode(type, from: Data(buffer.readableBytesView))
    }
}

/// JSON encoding and decoding for the HTTP API.
enum JSONCoding {
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws(SwitchboardError) -> T {
        guard !data.isEmpty else { throw .invalid("request body must be a JSON object") }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw .invalid(describe(error))
        } catch let error as SwitchboardError {
            throw error
        } catch {
            throw .invalid("request body is not valid JSON")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let full = path(context.codingPath + [key])
            return "missing field: \(full)"
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            return field.isEmpty ? "request body must be a JSON object" : "wrong type for field \(field) (expected \(Self.name(type)))"
        case .valueNotFound(let type, let context):
            return "field \(path(context.codingPath)) must not be null (expected \(Self.name(type)))"
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            return field.isEmpty ? "request body is not valid JSON" : "invalid value for field \(field)"
        @unknown default:
            return "invalid request body"
        }
    }

    private static func name(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "string"
        case is Int.Type, is Int64.Type, is Double.Type: return "number"
        case is Bool.Type: return "boolean"
        case is [String].Type: return "array of strings"
        default: return type is [Any].Type ? "array" : "object"
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    /// A JSON response.
    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
