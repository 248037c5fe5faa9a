import Foundation
import Hummingbird
import NIOCore
import SwitchboardCore

/// `GET /api/v1/openapi.json`: the REST API's OpenAPI document (docs/openapi.yaml,
/// embedded as JSON by scripts/gen-openapi), with a strong ETag so clients can revalidate.
struct OpenAPIController {
    /// The document's bytes, made once.
    let body: ByteBuffer
    /// A strong ETag: the first 32 hex digits of the document's SHA-256, quoted.
    let etag: String

    init(json: String = OpenAPIDocument.json) {
        self.body = ByteBuffer(string: json)
        self.etag = "\"" + Base64.hex(Crypto.sha256(Array(json.utf8))).prefix(32) + "\""
    }

    func register(on group: RouterGroup<SwitchboardRequestContext>) {
        let body = self.body
        let etag = self.etag
        group.get("openapi.json") { request, _ -> Response in
            if let condition = request.headers[.ifNoneMatch], Self.matches(condition, etag: etag) {
                return Response(status: .notModified, headers: [.eTag: etag, .cacheControl: "no-cache"])
            }
            return Response(
                status: .ok,
                headers: [.contentType: "application/json; charset=utf-8", .eTag: etag, .cacheControl: "no-cache"],
                body: .init(byteBuffer: body))
        }
    }

    /// Whether an `If-None-Match` value names this ETag (weak comparison, RFC 9110 §13.1.2).
    static func matches(_ condition: String, etag: String) -> Bool {
        condition.split(separator: ",").contains { candidate in
            let tag = candidate.trimmingCharacters(in: .whitespaces)
            return tag == "*" || tag == etag || tag == "W/" + etag
        }
    }
}
