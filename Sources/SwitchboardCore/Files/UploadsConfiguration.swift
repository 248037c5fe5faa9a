/// Uploads (`POST /api/v1/uploads`) and the files they store.
public struct UploadsConfiguration: Sendable {
    /// Bytes of one upload; a larger body is refused with 413 `too_large` while it streams in.
    public var maxBytes: Int = 10 * 1024 * 1024
    /// Where the bytes go (`LocalFileStore`): a directory every node shares.
    public var directory: String = ".switchboard/uploads"
    /// Seconds an upload that no message carries is kept (its metadata's TTL; the sweep removes the bytes after it).
    public var unattachedTTL: Int = 86_400
    /// Seconds between two sweeps of the upload directory for expired uploads' bytes.
    public var sweepInterval: Double = 3600
    /// Uploads per user, per minute (the shared Redis token bucket, like posts and edits).
    public var perMinute: Int = 30

    public init() {}
}
