import Hummingbird
import NIOCore
import NIOPosix
import SwitchboardCore
import _NIOFileSystem

/// Uploads as files in one directory that every node shares (a volume):
/// `<dir>/<id>`, written first to `<dir>/tmp/<id>.<random>` and renamed into
/// place, so a reader never sees half a file. All file I/O runs on NIO's
/// thread pool (`NIOFileSystem`), never on an event loop.
struct LocalFileStore: FileStore {
    let directory: FilePath
    let fileSystem: FileSystem

    init(directory: String, fileSystem: FileSystem = .shared) {
        self.directory = FilePath(directory)
        self.fileSystem = fileSystem
    }

    private var temporary: FilePath { directory.appending("tmp") }

    /// Creates the directory (and its `tmp/`) if missing.
    func prepare() async throws {
        try await fileSystem.createDirectory(at: temporary, withIntermediateDirectories: true, permissions: nil)
    }

    func write(_ id: String, body: some AsyncSequence<ByteBuffer, any Error>, maxBytes: Int) async throws -> StoredBytes {
        try await prepare()
        let part = temporary.appending("\(id).\(RandomID.make(length: 8))")
        var stored = StoredBytes(size: 0, head: [])
        do {
            try await fileSystem.withFileHandle(forWritingAt: part, options: .newFile(replaceExisting: false)) { handle in
                try await handle.withBufferedWriter { writer in
                    for try await chunk in body {
                        stored.size += chunk.readableBytes
                        if stored.size > maxBytes { throw SwitchboardError(.tooLarge, "an upload is at most \(maxBytes) bytes") }
                        if stored.head.count < 16 {
                            stored.head += chunk.getBytes(at: chunk.readerIndex, length: min(16 - stored.head.count, chunk.readableBytes)) ?? []
                        }
                        _ = try await writer.write(contentsOf: chunk)
                    }
                }
            }
            try await fileSystem.moveItem(at: part, to: directory.appending(id))
        } catch {
            _ = try? await fileSystem.removeItem(at: part, strategy: .platformDefault, recursively: false)
            throw error
        }
        return stored
    }

    func size(of id: String) async throws -> Int? {
        guard let info = try await fileSystem.info(forFileAt: directory.appending(id), infoAboutSymbolicLink: false) else { return nil }
        return Int(info.size)
    }

    func body(of id: String, range: ClosedRange<Int>) -> ResponseBody {
        let path = directory.appending(id)
        let fileSystem = self.fileSystem
        return ResponseBody(contentLength: range.count) { writer in
            try await fileSystem.withFileHandle(forReadingAt: path) { handle in
                for try await chunk in handle.readChunks(in: Int64(range.lowerBound)...Int64(range.upperBound), chunkLength: .kibibytes(128)) {
                    try await writer.write(chunk)
                }
            }
            try await writer.finish(nil)
        }
    }

    func remove(_ id: String) async throws {
        _ = try await fileSystem.removeItem(at: directory.appending(id), strategy: .platformDefault, recursively: false)
    }

    func stored(before date: Int) async throws -> [String] {
        try await prepare()
        var ids: [String] = []
        try await fileSystem.withDirectoryHandle(atPath: directory) { handle in
            for try await entry in handle.listContents() where entry.type == .regular {
                let name = entry.name.string
                guard FileService.isValidID(name),
                    let info = try await fileSystem.info(forFileAt: directory.appending(name), infoAboutSymbolicLink: false),
                    info.lastDataModificationTime.seconds < date
                else { continue }
                ids.append(name)
            }
        }
        // Parts of uploads that never finished (a node killed mid-write).
        try await fileSystem.withDirectoryHandle(atPath: temporary) { handle in
            for try await entry in handle.listContents() where entry.type == .regular {
                let path = temporary.appending(entry.name)
                if let info = try await fileSystem.info(forFileAt: path, infoAboutSymbolicLink: false),
                    info.lastDataModificationTime.seconds < date
                {
                    _ = try? await fileSystem.removeItem(at: path, strategy: .platformDefault, recursively: false)
                }
            }
        }
        return ids
    }
}
