import Hummingbird
import NIOCore

/// Where the bytes of uploads live. The routes only know this protocol: an
/// S3-compatible store (PUT of a temporary object or a multipart upload,
/// then a copy; ranged GETs; a list of old objects for the sweep) can take
/// the place of `LocalFileStore` without touching them (docs/architecture.md,
/// "Uploads").
protocol FileStore: Sendable {
    /// Stores the bytes of `body` under `id`, all or nothing: a body longer
    /// than `maxBytes` stops with `too_large` as soon as it passes the limit,
    /// and nothing is left behind. Answers the size and the first bytes.
    func write(_ id: String, body: some AsyncSequence<ByteBuffer, any Error>, maxBytes: Int) async throws -> StoredBytes

    /// The size of a stored file, nil when there is none.
    func size(of id: String) async throws -> Int?

    /// A response body that streams `range` of the file.
    func body(of id: String, range: ClosedRange<Int>) -> ResponseBody

    /// Removes a file's bytes (nothing when there are none).
    func remove(_ id: String) async throws

    /// The ids of files stored before `date` (seconds since 1970), for the
    /// sweep of expired uploads; temporary leftovers of that age are removed on the way.
    func stored(before date: Int) async throws -> [String]
}

/// What `FileStore.write` answers.
struct StoredBytes: Sendable {
    var size: Int
    /// The first bytes (up to 16), for the type check of images.
    var head: [UInt8]
}
