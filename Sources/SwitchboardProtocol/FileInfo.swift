/// An uploaded file as clients see it: in the upload's answer and in a
/// message's `attachments`. `url` is where its bytes are served
/// (`GET /api/v1/files/{id}`, with the user's bearer token).
public struct FileInfo: Codable, Sendable, Hashable {
    public var id: String
    /// The name the uploader gave (`X-Filename`), cleaned of path separators and control characters.
    public var name: String
    /// The media type: one of the image types checked against the bytes, or what the uploader declared.
    public var type: String
    /// Bytes.
    public var size: Int
    public var url: String

    public init(id: String, name: String, type: String, size: Int, url: String) {
        self.id = id
        self.name = name
        self.type = type
        self.size = size
        self.url = url
    }

    /// The media types served inline as images (their bytes are checked at upload).
    public static let imageTypes: Set<String> = ["image/png", "image/jpeg", "image/gif", "image/webp"]

    /// Whether the file is one of the checked image types.
    public var isImage: Bool { Self.imageTypes.contains(type) }
}
