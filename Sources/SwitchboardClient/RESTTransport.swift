import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchboardProtocol

/// The REST half of the SDK: JSON requests to `/api/v1` over
/// AsyncHTTPClient (already in the package graph, and on the same SwiftNIO
/// event loops as the WebSocket), `http://` or `https://`.
/// A failed request throws `ChatError` with the server's `code`.
struct RESTTransport: Sendable {
    /// `http://host:port/api/v1`, without a trailing slash.
    let baseURL: String
    let timeout: Double

    init(baseURL: String, timeout: Double) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.timeout = timeout
    }

    /// An answer: the HTTP status and the JSON object (empty for 204).
    struct Answer: @unchecked Sendable {
        var status: Int
        var object: [String: Any]
    }

    /// One request; throws `ChatError` for any status from 300 on.
    func call(
        _ method: HTTPMethod, _ path: String, query: [(String, String?)] = [], json body: Data? = nil, token: String
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path + Self.queryString(query))
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            bytes = try await response.body.collect(upTo: 16 << 20)
        } catch {
            throw ChatError(code: .unavailable, message: "\(method) \(path): \(error)")
        }
        let status = Int(response.status.code)
        let object = (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView))) as? [String: Any] ?? [:]
        guard status < 300 else {
            guard let error = object["error"] as? [String: Any], let code = error["code"] as? String else {
                throw ChatError(code: ErrorCode(rawValue: "http_\(status)"), message: String(buffer: bytes).prefix(200).description)
            }
            throw ChatError(code: ErrorCode(rawValue: code), message: error["message"] as? String ?? "")
        }
        return Answer(status: status, object: object)
    }

    /// A path segment with everything but unreserved characters percent-encoded.
    static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    static func queryString(_ query: [(String, String?)]) -> String {
        let pairs = query.compactMap { name, value in value.map { "\(name)=\(segment($0))" } }
        return pairs.isEmpty ? "" : "?" + pairs.joined(separator: "&")
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:")
}
