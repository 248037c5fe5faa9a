import Foundation

/// One HTTP response, whole.
struct HTTPResult: Sendable {
    var status: Int
    var body: [UInt8]
    /// The `Retry-After` header, in seconds.
    var retryAfter: Int?

    var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] }

    /// The start of the body, for error messages.
    var text: String { String(decoding: body.prefix(300), as: UTF8.self) }
}
