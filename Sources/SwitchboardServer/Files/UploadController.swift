import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

/// `POST /api/v1/uploads` and `GET /api/v1/files/{id}`: the bytes go to a
/// `FileStore`, the metadata to Redis (`FileService`).
struct UploadController {
    let switchboard: Switchboard
    let authenticator: Authenticator
    let store: any FileStore

    struct FileAnswer: Encodable { var file: FileInfo }

    func register(on group: RouterGroup<SwitchboardRequestContext>) {
        let configuration = switchboard.configuration.uploads
        group.post("uploads") { request, _ in
            let user = try await authenticator.userID(request)
            try await switchboard.rateLimiter.enforce("upload:\(user)", rule: .perMinute(configuration.perMinute))
            if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > configuration.maxBytes {
                throw SwitchboardError(.tooLarge, "an upload is at most \(configuration.maxBytes) bytes")
            }
            let type = Self.mediaType(request.headers[.contentType])
            let name = Self.fileName(request.headers[HTTPField.Name("X-Filename")!])
            let id = FileService.makeID()
            let stored = try await store.write(id, body: request.body, maxBytes: configuration.maxBytes)
            if FileInfo.imageTypes.contains(type), ImageSignature.detect(stored.head) != type {
                try? await store.remove(id)
                throw SwitchboardError.invalid("the bytes are not \(type)")
            }
            let file = FileInfo(id: id, name: name, type: type, size: stored.size, url: FileService.url(id))
            do {
                try await switchboard.files.create(file, owner: user)
            } catch {
                try? await store.remove(id)
                throw error
            }
            return try JSONCoding.response(FileAnswer(file: file), status: .created)
        }
        group.get("files/:id") { request, context in
            let user = try await authenticator.userID(request)
            let file = try await switchboard.files.accessible(try context.parameters.require("id"), user: user)
            guard let size = try await store.size(of: file.id) else { throw SwitchboardError.notFound("file not found") }
            return Self.serve(file, size: size, request: request, store: store)
        }
    }

    /// The answer to a GET of a file: 304 when the client has it, 206 for a
    /// range, 416 for a range past the end, else 200. Images are served
    /// inline as their type; anything else as an `application/octet-stream`
    /// download, never as something a browser would render.
    static func serve(_ file: FileInfo, size: Int, request: Request, store: any FileStore) -> Response {
        let etag = "\"\(file.id)\""
        var headers = HTTPFields()
        headers[.eTag] = etag
        headers[.cacheControl] = "private, max-age=86400"
        headers[.acceptRanges] = "bytes"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[.contentSecurityPolicy] = "default-src 'none'; sandbox"
        if let match = request.headers[.ifNoneMatch],
            match.split(separator: ",").contains(where: {
                let tag = $0.trimmingCharacters(in: .whitespaces)
                return tag == etag || tag == "*" || tag == "W/" + etag
            })
        {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = file.isImage ? file.type : "application/octet-stream"
        headers[.contentDisposition] = (file.isImage ? "inline" : "attachment") + "; " + contentDispositionName(file.name)
        switch ByteRange.parse(request.headers[.range], size: size) {
        case .whole:
            headers[.contentLength] = String(size)
            return Response(status: .ok, headers: headers, body: size > 0 ? store.body(of: file.id, range: 0...(size - 1)) : ResponseBody())
        case .partial(let range):
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
            headers[.contentLength] = String(range.count)
            return Response(status: .partialContent, headers: headers, body: store.body(of: file.id, range: range))
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(size)"
            headers[.contentType] = "application/json; charset=utf-8"
            headers[.contentDisposition] = nil
            let error = SwitchboardError.invalid("range not satisfiable: the file has \(size) bytes")
            return Response(status: .rangeNotSatisfiable, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: error.jsonBody)))
        }
    }

    /// The declared media type, lowercased without parameters; `application/octet-stream` when absent or malformed.
    static func mediaType(_ header: String?) -> String {
        let type = (header ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let token = "abcdefghijklmnopqrstuvwxyz0123456789!#$&^_.+-"
        let parts = type.split(separator: "/", omittingEmptySubsequences: false)
        guard type.utf8.count <= 100, parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(token.contains) }) else {
            return "application/octet-stream"
        }
        return type
    }

    /// The file's name from `X-Filename` (percent-decoded when it is
    /// percent-encoded): its last path component, without control
    /// characters, at most 255 bytes; `file` when nothing is left.
    static func fileName(_ header: String?) -> String {
        var name = header ?? ""
        if name.contains("%"), let decoded = name.removingPercentEncoding { name = decoded }
        name = String(name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last ?? "")
        name = String(name.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.map(Character.init))
        name = name.trimmingCharacters(in: .whitespaces)
        while name.utf8.count > 255 { name.removeLast() }
        return name.isEmpty || name == "." || name == ".." ? "file" : name
    }

    /// `filename="<ascii>"; filename*=UTF-8''<percent-encoded>` (RFC 6266).
    static func contentDispositionName(_ name: String) -> String {
        let ascii = String(name.unicodeScalars.map { $0.isASCII && $0 != "\"" && $0 != "\\" ? Character($0) : "_" })
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "!#$&+-.^_`|~")
        let encoded = name.addingPercentEncoding(withAllowedCharacters: allowed) ?? ascii
        return "filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }
}
