import RedisClient
import SwitchboardProtocol

/// The metadata of uploads, in Redis (the bytes are a `FileStore`'s, in the
/// server): one hash per file with its uploader, a day's TTL until a message
/// carries it, and the conversations whose members may fetch it.
public struct FileService: Sendable {
    let redis: RedisClient
    let scripts: RedisScriptRegistry
    let keys: KeyLayout
    let clock: WallClock
    /// Seconds an upload no message carries is kept (its hash's TTL).
    public let unattachedTTL: Int

    public init(redis: RedisClient, scripts: RedisScriptRegistry, keys: KeyLayout, clock: WallClock, unattachedTTL: Int) {
        self.redis = redis
        self.scripts = scripts
        self.keys = keys
        self.clock = clock
        self.unattachedTTL = unattachedTTL
    }

    /// At most this many attachments per message.
    public static let maxAttachments = 10

    /// A new file id: `f_` and 22 base62 characters (safe in a path and a hash tag).
    public static func makeID() -> String { "f_" + RandomID.make(length: 22) }

    /// Whether `id` has the shape of a file id (so it can name a file on disk).
    public static func isValidID(_ id: String) -> Bool {
        id.utf8.count == 24 && id.hasPrefix("f_")
            && id.utf8.dropFirst(2).allSatisfy { byte in
                (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
            }
    }

    /// Where a file's bytes are served.
    public static func url(_ id: String) -> String { "/api/v1/files/\(id)" }

    /// Records an upload whose bytes are stored; it expires after `unattachedTTL` unless attached.
    public func create(_ file: FileInfo, owner: String) async throws(SwitchboardError) {
        _ = try await mapRedis {
            try await scripts.evaluate(
                "file_create", keys: [keys.file(file.id)],
                arguments: [file.id, file.name, file.type, file.size, owner, clock.milliseconds, unattachedTTL])
        }
    }

    /// Claims the sender's uploads for a message in `conversation` (one
    /// pipeline of `file_attach`): answers them in order; `not_found` for an
    /// unknown or expired id, `forbidden` for someone else's upload.
    public func attach(_ ids: [String], user: String, conversation: String) async throws(SwitchboardError) -> [FileInfo] {
        guard ids.count <= Self.maxAttachments else { throw .invalid("attachments: at most \(Self.maxAttachments) files") }
        guard Set(ids).count == ids.count else { throw .invalid("attachments: each file once") }
        for id in ids where !Self.isValidID(id) { throw .notFound("attachment not found: \(id)") }
        let calls = ids.map { id in
            RedisScriptRegistry.Call("file_attach", keys: [keys.file(id), keys.fileConversations(id)], arguments: [user, conversation])
        }
        let replies = try await mapRedis { try await scripts.pipeline(calls) }
        var files: [FileInfo] = []
        for reply in replies {
            if let message = reply.errorMessage { throw SwitchboardError(redis: RedisError.server(message)) }
            let parts = reply.array?.compactMap(\.string) ?? []
            guard parts.count == 4, let size = Int(parts[3]) else { throw SwitchboardError(.internalError, "unexpected reply from file_attach") }
            files.append(FileInfo(id: parts[0], name: parts[1], type: parts[2], size: size, url: Self.url(parts[0])))
        }
        return files
    }

    /// A file's metadata, if `user` may fetch it: the uploader, or a member
    /// of a conversation with a message that carries it. Anyone else gets
    /// `not_found`, so whether the file exists is not told.
    public func accessible(_ id: String, user: String) async throws(SwitchboardError) -> FileInfo {
        guard Self.isValidID(id) else { throw .notFound("file not found") }
        let replies = try await mapRedis {
            try await redis.pipeline([RedisCommand("HGETALL", [keys.file(id)]), RedisCommand("SMEMBERS", [keys.fileConversations(id)])])
        }
        let hash = replies[0].stringPairs ?? [:]
        guard let name = hash["name"], let type = hash["type"], let size = hash["size"].flatMap({ Int($0) }) else {
            throw .notFound("file not found")
        }
        let file = FileInfo(id: id, name: name, type: type, size: size, url: Self.url(id))
        if hash["owner"] == user { return file }
        let conversations = replies[1].array?.compactMap(\.string) ?? []
        guard !conversations.isEmpty else { throw .notFound("file not found") }
        let members = try await mapRedis {
            try await redis.pipeline(conversations.map { RedisCommand("HEXISTS", [keys.members($0), user]) })
        }
        guard members.contains(where: { $0.int == 1 }) else { throw .notFound("file not found") }
        return file
    }

    /// Which of `ids` still have metadata (the sweep removes the bytes of the others).
    public func existing(_ ids: [String]) async throws(SwitchboardError) -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let replies = try await mapRedis { try await redis.pipeline(ids.map { RedisCommand("EXISTS", [keys.file($0)]) }) }
        return Set(zip(ids, replies).filter { $0.1.int == 1 }.map(\.0))
    }
}
