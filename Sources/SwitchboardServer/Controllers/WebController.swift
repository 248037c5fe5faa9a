import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

/// The browser app and the JavaScript SDK: the files of `web/`, embedded in
/// the binary (`WebAssets`), at their own paths and `index.html` at `/`.
///
/// Every answer carries a strong `ETag` and `Cache-Control: no-cache`, so a
/// browser revalidates each time and gets a body-less 304 while the file is
/// unchanged: a new binary is picked up at once, an unchanged one costs no
/// transfer.
struct WebController {
    /// A prepared answer: body bytes and headers, built once.
    struct Entry: Sendable {
        let body: ByteBuffer
        let contentType: String
        let etag: String
    }

    let entries: [String: Entry]

    init(assets: [WebAsset] = WebAssets.all) {
        var entries: [String: Entry] = [:]
        for asset in assets {
            entries[asset.path] = Entry(body: ByteBuffer(string: asset.text), contentType: asset.contentType, etag: asset.etag)
        }
        if let index = entries["/index.html"] { entries["/"] = index }
        self.entries = entries
    }

    /// The page may load only what the node serves (no CDN, no inline code);
    /// `connect-src` allows the node's own REST and WebSocket endpoints.
    static let contentSecurityPolicy =
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!

    func register(on router: Router<SwitchboardRequestContext>) {
        for (path, entry) in entries.sorted(by: { $0.key < $1.key }) {
            router.get(RouterPath(path)) { request, _ in
                Self.response(entry, ifNoneMatch: request.headers[values: .ifNoneMatch])
            }
        }
    }

    /// 304 when the client holds this version (`If-None-Match` lists its ETag, or `*`), else 200 with the file.
    static func response(_ entry: Entry, ifNoneMatch: [String]) -> Response {
        var headers: HTTPFields = [
            .eTag: entry.etag,
            .cacheControl: "no-cache",
            .xContentTypeOptions: "nosniff",
        ]
        if entry.contentType.hasPrefix("text/html") {
            headers[.contentSecurityPolicy] = contentSecurityPolicy
            headers[Self.referrerPolicy] = "no-referrer"
        }
        if matches(ifNoneMatch, etag: entry.etag) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = entry.contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: entry.body))
    }

    /// Whether an `If-None-Match` header (possibly several, comma-separated, weak or strong) names this ETag.
    static func matches(_ values: [String], etag: String) -> Bool {
        for value in values {
            for candidate in value.split(separator: ",") {
                var tag = candidate.trimmingCharacters(in: .whitespaces)
                if tag == "*" { return true }
                if tag.hasPrefix("W/") { tag.removeFirst(2) }
                if tag == etag { return true }
            }
        }
        return false
    }
}
