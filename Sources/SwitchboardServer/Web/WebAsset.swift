/// One file of `web/` as the node serves it (`scripts/gen-web` embeds them
/// into `WebAssets.all`).
struct WebAsset: Sendable {
    /// The URL path, `/` + the file's path under `web/`.
    let path: String
    /// The `Content-Type` header value.
    let contentType: String
    /// The strong `ETag` header value, quotes included: a prefix of the file's SHA-256.
    let etag: String
    /// The file's contents (text files only).
    let text: String
}
