import Foundation
import NIOCore
import RedisClient
import Synchronization

/// Users in Redis: registration with a race-free username claim, login,
/// profiles and prefix search.
public struct AccountService: Sendable {
    let redis: RedisClient
    let scripts: RedisScriptRegistry
    let keys: KeyLayout
    let clock: WallClock
    let hasher: PasswordHasher
    let limits: Limits
    let events: EventStream
    /// `PUBLISH`, or `SPUBLISH` on Redis Cluster (`SwitchboardConfiguration.publishCommand`).
    var publishCommand = "PUBLISH"

    /// Checks a username: 3 to `limits.usernameBytes` of `A-Z a-z 0-9 _ . -`.
    /// Runs before any Redis key is built from the name.
    public func validateUsername(_ username: String) throws(SwitchboardError) {
        try limits.check(username, .username)
        let allowed = username.utf8.allSatisfy {
            ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 || $0 == 46 || $0 == 45
        }
        guard username.utf8.count >= 3, allowed else {
            throw .invalid("username: 3 to \(limits.usernameBytes) characters of A-Z a-z 0-9 _ . -")
        }
    }

    /// Checks a password's size: 8 to `limits.passwordBytes` bytes.
    public func validatePasswordSize(_ password: String) throws(SwitchboardError) {
        try limits.check(password, .password)
        guard password.utf8.count >= 8 else { throw .invalid("password: 8 to \(limits.passwordBytes) bytes") }
    }

    /// Checks a password a user chooses (registration, and any future change
    /// route): its size, and that it is not one of the common passwords.
    public static func validateNewPassword(_ password: String, limits: Limits) throws(SwitchboardError) {
        try limits.check(password, .password)
        guard password.utf8.count >= 8 else { throw .invalid("password: 8 to \(limits.passwordBytes) bytes") }
        if CommonPasswords.contains(password) {
            throw .invalid("password: this is one of the most common passwords (easy to guess); choose another")
        }
    }

    /// Creates a user. The lowercase name is claimed first with `SET NX`, so
    /// exactly one of many concurrent registrations wins; if writing the user
    /// fails afterwards the claim is released.
    public func register(username: String, password: String, displayName: String?) async throws(SwitchboardError) -> User {
        try validateUsername(username)
        try Self.validateNewPassword(password, limits: limits)
        return try await create(username: username, password: password, displayName: displayName)
    }

    /// Creates a user without a password, for apps with their own login (server API); stored as external.
    public func createWithoutPassword(username: String, displayName: String?) async throws(SwitchboardError) -> User {
        try await create(username: username, password: nil, displayName: displayName)
    }

    private func create(username: String, password: String?, displayName: String?) async throws(SwitchboardError) -> User {
        try validateUsername(username)
        let displayName = try validateDisplayName(displayName) ?? username
        let id = "u_" + RandomID.make(length: 12)
        let lower = username.lowercased()
        let claimed = try await mapRedis {
            try await redis.send("SET", keys.username(lower), id, "NX")
        }
        guard !claimed.isNull else { throw SwitchboardError(.usernameTaken, "username is taken") }
        let passwordHash = if let password { await Self.offLoop { hasher.hash(password) } } else { "" }
        let user = User(id: id, username: username, displayName: displayName, createdAt: clock.milliseconds)
        do {
            // The user hash and its user.created event in one script, then the search index.
            let replies = try await scripts.pipeline([
                RedisScriptRegistry.Call(
                    "create_user", keys: [keys.user(id)],
                    arguments: [id, username, displayName, user.createdAt, passwordHash], events: events)
            ])
            if let failed = replies.first(where: { $0.errorMessage != nil }) { throw RedisError.server(failed.errorMessage!) }
            _ = try await redis.send("ZADD", keys.usernameIndex, 0, "\(lower):\(id)")
        } catch {
            // Release the name only if it is still ours.
            _ = try? await scripts.evaluate("release_claim", keys: [keys.username(lower)], arguments: [id])
            throw SwitchboardError(redis: error)
        }
        return user
    }

    /// Runs CPU-heavy work (scrypt) on a global dispatch queue, away from event loops and the cooperative pool.
    static func offLoop<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }

    func validateDisplayName(_ name: String?) throws(SwitchboardError) -> String? {
        guard let name else { return nil }
        try limits.check(name, .displayName)
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .invalid("displayName: 1 to \(limits.displayNameLength) characters") }
        return trimmed
    }

    /// Checks a username and password; the same error whether the name or the password is wrong.
    public func login(username: String, password: String) async throws(SwitchboardError) -> User {
        let failure = SwitchboardError(.unauthorized, "wrong username or password")
        let id = try await mapRedis { try await redis.send("GET", keys.username(username.lowercased())) }.string
        guard let id else {
            // Spend the same time as a real check so names cannot be probed by timing.
            _ = await Self.offLoop { hasher.verify(password, against: Self.dummyHash(for: hasher)) }
            throw failure
        }
        let hash = try await mapRedis { try await redis.send("HGETALL", keys.user(id)) }.stringPairs ?? [:]
        guard let stored = hash["password"], let user = User(hash: hash) else { throw failure }
        let matches = await Self.offLoop { hasher.verify(password, against: stored) }
        guard matches else { throw failure }
        return user
    }

    private static let dummyHashes = Mutex<[String: String]>([:])

    /// A hash made with the configured parameters (not the defaults), so an
    /// unknown name costs exactly what a real check costs.
    static func dummyHash(for hasher: PasswordHasher) -> String {
        let parameters = "\(hasher.n)/\(hasher.r)/\(hasher.p)"
        if let hash = dummyHashes.withLock({ $0[parameters] }) { return hash }
        let hash = hasher.hash("dummy password for timing")
        dummyHashes.withLock { $0[parameters] = hash }
        return hash
    }

    /// A user by id, or nil.
    public func user(id: String) async throws(SwitchboardError) -> User? {
        guard !id.isEmpty, id.utf8.count <= Self.maxUserIDBytes else { return nil }
        let hash = try await mapRedis { try await redis.send("HGETALL", keys.user(id)) }.stringPairs ?? [:]
        return User(hash: hash)
    }

    /// A user by id, or nil, as a future (a WebSocket session's token renewal, from its event loop).
    public func lookUpUser(id: String) -> EventLoopFuture<User?> {
        guard !id.isEmpty, id.utf8.count <= Self.maxUserIDBytes else { return redis.eventLoop.makeSucceededFuture(nil) }
        return redis.send(RedisCommand("HGETALL", [keys.user(id)])).map { User(hash: $0.stringPairs ?? [:]) }
    }

    /// A user and the ids of their conversations, in one round trip (a connection's authentication).
    /// Fails with `banned` for a banned user, `unauthorized` when `session` (the token's `sid`) was ended.
    public func userWithConversations(id: String, session: String? = nil) -> EventLoopFuture<(User, [String])?> {
        guard !id.isEmpty, id.utf8.count <= Self.maxUserIDBytes else { return redis.eventLoop.makeSucceededFuture(nil) }
        var commands = [RedisCommand("HGETALL", [keys.user(id)]), RedisCommand("SMEMBERS", [keys.userConversations(id)])]
        if let session { commands.append(RedisCommand("EXISTS", [keys.endedSession(session)])) }
        let now = clock.milliseconds
        return redis.pipeline(commands).flatMapThrowing { replies -> (User, [String])? in
            guard let hash = replies[0].stringPairs, let user = User(hash: hash) else { return nil }
            if replies.count > 2, replies[2].int == 1 { throw SwitchboardError(.unauthorized, "this session was ended") }
            try Self.requireNotBanned(hash, now: now)
            return (user, replies[1].array?.compactMap(\.string) ?? [])
        }
    }

    /// Several users in one round trip; missing ones are left out.
    public func users(ids: [String]) async throws(SwitchboardError) -> [String: User] {
        guard !ids.isEmpty else { return [:] }
        let replies = try await mapRedis { try await redis.pipeline(ids.map { RedisCommand("HGETALL", [keys.user($0)]) }) }
        var result: [String: User] = [:]
        for reply in replies { if let user = reply.stringPairs.flatMap(User.init(hash:)) { result[user.id] = user } }
        return result
    }

    /// Profile fields a user may change; nil leaves a field as it is, "" clears bio or avatar.
    public struct ProfileUpdate: Sendable {
        public var displayName: String?
        public var bio: String?
        public var avatar: String?
        public init(displayName: String? = nil, bio: String? = nil, avatar: String? = nil) {
            self.displayName = displayName
            self.bio = bio
            self.avatar = avatar
        }
    }

    /// Updates the profile and returns the user as stored.
    public func update(id: String, _ update: ProfileUpdate) async throws(SwitchboardError) -> User {
        var fields: [any RedisArgumentConvertible] = []
        if let name = try validateDisplayName(update.displayName) { fields += ["displayName", name] }
        if let bio = update.bio {
            try limits.check(bio, .bio)
            fields += ["bio", bio]
        }
        if let avatar = update.avatar {
            try limits.check(avatar, .avatar)
            fields += ["avatar", avatar]
        }
        if !fields.isEmpty {
            // HSET only when the user exists, so an update never creates half a user.
            _ = try await mapRedis {
                try await scripts.evaluate("update_profile", keys: [keys.user(id)], arguments: fields, events: events)
            }
        }
        guard let user = try await user(id: id) else { throw .notFound("user not found") }
        return user
    }

    /// Users whose username starts with `prefix` (case-insensitive), by name.
    public func search(prefix: String, limit: Int) async throws(SwitchboardError) -> [User] {
        let lower = prefix.lowercased()
        let ids =
            try await mapRedis {
                try await redis.send(
                    "ZRANGEBYLEX", keys.usernameIndex, "[" + lower, Array(("[" + lower).utf8) + [0xFF], "LIMIT", 0, limit)
            }.array?.compactMap { $0.string?.split(separator: ":", maxSplits: 1).last.map(String.init) } ?? []
        let users = try await users(ids: ids)
        return ids.compactMap { users[$0] }
    }

    /// Bytes of a user id at most: native `u_` ids are 14, external ones `x_` + up to 128.
    public static let maxUserIDBytes = 130

    /// Creates the minimal user record for an external user (`x_` + the token's sub), once.
    public func ensureExternalUser(id: String) async throws(SwitchboardError) -> User {
        guard id.hasPrefix(TokenService.externalIDPrefix), id.utf8.count <= Self.maxUserIDBytes, !id.contains("{"), !id.contains("}")
        else {
            throw SwitchboardError(.unauthorized, "not an external user id")
        }
        if let user = try await user(id: id) { return user }
        let username = "ext_" + Base64.hex(Crypto.sha256(Array(id.utf8))).prefix(16)
        let now = clock.milliseconds
        _ = try await mapRedis {
            try await scripts.evaluate("ensure_user", keys: [keys.user(id)], arguments: [id, username, now], events: events)
        }
        _ = try? await redis.send("SET", keys.username(username.lowercased()), id, "NX")
        _ = try? await redis.send("ZADD", keys.usernameIndex, 0, "\(username.lowercased()):\(id)")
        guard let user = try await user(id: id) else { throw .notFound("user not found") }
        return user
    }
}
