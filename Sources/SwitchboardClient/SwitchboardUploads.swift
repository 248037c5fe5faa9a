import Foundation
import SwitchboardProtocol

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Uploads and downloads over the REST API (the WebSocket carries no bytes):
/// `upload` answers the `FileInfo` whose `id` goes into
/// `SwitchboardClient.send(_:to:attachments:)`; `download` fetches a file a
/// message carries, whole or a byte range.
public struct SwitchboardUploads: Sendable {
    /// The node or load balancer, e.g. `http://chat.example.com:8080`.
    public var baseURL: URL
    /// The user's access token, asked for every request.
    public var token: @Sendable () async throws -> String

    public init(baseURL: URL, token: @escaping @Sendable () async throws -> String) {
        self.baseURL = baseURL
        self.token = token
    }

    private struct FileAnswer: Decodable { var file: FileInfo }
    private struct ErrorAnswer: Decodable {
        struct Body: Decodable {
            var code: String
            var message: String
        }
        var error: Body
    }

    /// `POST /api/v1/uploads`: the bytes, their media type and the file's name.
    public func upload(_ data: Data, type: String, name: String) async throws -> FileInfo {
        var request = URLRequest(url: baseURL.appendingPathComponent("api/v1/uploads"))
        request.httpMethod = "POST"
        request.httpBody = data
        request.setValue(type, forHTTPHeaderField: "Content-Type")
        request.setValue(name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "file", forHTTPHeaderField: "X-Filename")
        request.setValue("Bearer \(try await token())", forHTTPHeaderField: "Authorization")
        let (body, response) = try await URLSession.shared.data(for: request)
        try Self.check(response, body)
        return try JSONDecoder().decode(FileAnswer.self, from: body).file
    }

    /// `GET /api/v1/files/{id}`, the whole file or `range` (bytes, both ends included).
    public func download(_ id: String, range: ClosedRange<Int>? = nil) async throws -> Data {
        var request = URLRequest(url: baseURL.appendingPathComponent("api/v1/files/\(id)"))
        request.setValue("Bearer \(try await token())", forHTTPHeaderField: "Authorization")
        if let range { request.setValue("bytes=\(range.lowerBound)-\(range.upperBound)", forHTTPHeaderField: "Range") }
        let (body, response) = try await URLSession.shared.data(for: request)
        try Self.check(response, body)
        return body
    }

    private static func check(_ response: URLResponse, _ body: Data) throws {
        guard let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) else { return }
        if let answer = try? JSONDecoder().decode(ErrorAnswer.self, from: body) {
            throw ChatError(code: ErrorCode(rawValue: answer.error.code), message: answer.error.message)
        }
        throw ChatError(code: .internalError, message: "HTTP \(http.statusCode)")
    }
}
