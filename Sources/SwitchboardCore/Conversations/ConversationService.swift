import Foundation
import RedisClient

/// Conversations, membership, messages and read pointers over the Lua
/// scripts of `lua/`. Every multi-key write is one script on the
/// conversation's hash slot; the per-user index `sb:user:{U}:convs` (another
/// slot) is updated right after, from what the script answers.
public struct ConversationService: Sendable {
    let redis: RedisClient
    let scripts: RedisScriptRegistry
    let keys: KeyLayout
    let clock: WallClock
    let configuration: SwitchboardConfiguration
    let accounts: AccountService
    /// Sends acknowledged before `redisWaitReplicas` replicas had them.
    public let replicationShortfall = ReplicationShortfall()
    let events: EventStream

    // MARK: Creating

    /// The id of the direct conversation of two users: the same for the pair
    /// whichever of them asks, and safe inside a hash tag.
    public static func directID(_ a: String, _ b: String) -> String {
        let pair = [a, b].sorted().joined(separator: "\n")
        return "d_" + Base64.hex(Crypto.sha256(Array(pair.utf8))).prefix(24)
    }

    /// Opens the direct conversation with `other`, once per pair.
    public func createDirect(actor: String, with other: String) async throws(SwitchboardError) -> (Conversation, created: Bool) {
        guard other != actor else { throw .invalid("with: a direct conversation needs another user") }
        try await requireUsers([other])
        let id = Self.directID(actor, other)
        return try await create(id: id, kind: .direct, name: "", public: false, actor: actor, members: [actor, other])
    }

    /// Creates a group with the creator as owner and `members` as members.
    public func createGroup(actor: String, name: String, members: [String]) async throws(SwitchboardError) -> Conversation {
        let name = try validateName(name)
        let others = Array(Set(members.filter { $0 != actor }))
        guard others.count <= 1000 else { throw .invalid("members: at most 1000 at once") }
        try await requireUsers(others)
        return try await create(
            id: "c_" + RandomID.make(length: 12), kind: .group, name: name, public: false, actor: actor,
            members: [actor] + others.sorted()
        ).0
    }

    /// Creates a room; a public one is listed in `GET /rooms` and joinable by anyone.
    public func createRoom(actor: String, name: String, public: Bool) async throws(SwitchboardError) -> Conversation {
        let name = try validateName(name)
        let conversation = try await create(
            id: "r_" + RandomID.make(length: 12), kind: .room, name: name, public: `public`, actor: actor, members: [actor]
        ).0
        if `public` {
            _ = try await mapRedis { try await redis.send("ZADD", keys.roomIndex, 0, Self.indexEntry(name, conversation.id)) }
        }
        return conversation
    }

    static func indexEntry(_ name: String, _ id: String) -> String { name.lowercased() + "\u{1F}" + id }

    func validateName(_ name: String) throws(SwitchboardError) -> String {
        try configuration.limits.check(name, .conversationName)
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .invalid("name: 1 to \(configuration.limits.conversationNameLength) characters") }
        return trimmed
    }

    func create(
        id: String, kind: ConversationKind, name: String, public: Bool, actor: String, members: [String]
    ) async throws(SwitchboardError) -> (Conversation, created: Bool) {
        let reply = try await mapRedis {
            try await scripts.evaluate(
                "create_conversation",
                keys: [keys.conversation(id), keys.members(id), keys.joined(id), keys.readPointers(id), keys.offline(id)],
                arguments: [id, kind.rawValue, name, `public` ? "1" : "0", actor, clock.milliseconds, Self.newEpoch()] + members,
                events: events)
        }
        guard let parts = reply.array, parts.count == 3, let json = parts[1].string else {
            throw SwitchboardError(.internalError, "unexpected reply from create_conversation")
        }
        var conversation = try Conversation.decode(json)
        let added = parts[2].array?.compactMap(\.string) ?? []
        // The conversation's slot first, then each member's index (their own
        // slots). Every listed member who is a member now is indexed, not only
        // those added by this call: SADD is idempotent, so asking for a direct
        // conversation again repairs an index a crash left behind.
        let current = Set(conversation.members?.map(\.id) ?? [])
        try await indexMembers(conversation.id, added: Array(Set(added + members.filter(current.contains))))
        conversation.unread = 0
        for user in added {
            await publish(keys.userChannel(user), LiveEvent.conversation(conversation, change: "added"))
        }
        return (conversation, parts[0].int == 1)
    }

    /// A fresh conversation epoch: 8 base64url characters (48 random bits).
    static func newEpoch() -> String { Base64.urlEncode(RandomID.bytes(6)) }

    func requireUsers(_ ids: [String]) async throws(SwitchboardError) {
        guard !ids.isEmpty else { return }
        for id in ids where id.isEmpty || id.utf8.count > AccountService.maxUserIDBytes { throw .invalid("unknown user id: \(id)") }
        let replies = try await mapRedis { try await redis.pipeline(ids.map { RedisCommand("EXISTS", [keys.user($0)]) }) }
        for (id, reply) in zip(ids, replies) where reply.int != 1 {
            throw .notFound("no user with id \(id)")
        }
    }

    func indexMembers(_ conversation: String, added: [String] = [], removed: [String] = []) async throws(SwitchboardError) {
        var commands = added.map { RedisCommand("SADD", [keys.userConversations($0), conversation]) }
        commands += removed.map { RedisCommand("SREM", [keys.userConversations($0), conversation]) }
        guard !commands.isEmpty else { return }
        _ = try await mapRedis { try await redis.pipeline(commands) }
    }

    /// Removes the users' notifications of a conversation they no longer see
    /// (best effort: they expire with their TTL anyway).
    private func dropNotifications(_ id: String, users: [String]) async {
        guard !users.isEmpty else { return }
        _ = try? await scripts.pipeline(NotificationService.dropCalls(keys: keys, conversation: id, users: users))
    }

    func publish(_ channel: String, _ payload: String) async {
        _ = try? await redis.send(configuration.publishCommand, channel, payload)
    }

    // MARK: Reading

    /// What a user may do with a conversation.
    public enum Access: Sendable {
        case member(role: MemberRole)
        /// Not a member, but the conversation is a public room: may read.
        case publicReader
    }

    /// The conversation hash and the user's access, or `not_found` / `not_member`.
    public func access(_ id: String, user: String) async throws(SwitchboardError) -> (Conversation, Access) {
        guard Self.isValidID(id) else { throw .notFound("conversation not found") }
        let replies = try await mapRedis {
            try await redis.pipeline([
                RedisCommand("HGETALL", [keys.conversation(id)]),
                RedisCommand("HGET", [keys.members(id), user]),
                RedisCommand("HGET", [keys.readPointers(id), user]),
                RedisCommand("HGET", [keys.muted(id), user]),
            ])
        }
        guard var conversation = replies[0].stringPairs.flatMap(Conversation.init(hash:)) else {
            throw .notFound("conversation not found")
        }
        if let role = replies[1].string {
            conversation.unread = max(0, conversation.seq - (replies[2].int ?? 0))
            conversation.mutedUntil = mutedUntil(replies[3])
            return (conversation, .member(role: MemberRole(rawValue: role) ?? .member))
        }
        if conversation.kind == .room, conversation.public == true { return (conversation, .publicReader) }
        throw SwitchboardError(.notMember, "not a member of this conversation")
    }

    public static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64 && !id.contains("{") && !id.contains("}")
    }

    /// One conversation with its members in join order.
    public func get(_ id: String, user: String) async throws(SwitchboardError) -> Conversation {
        var (conversation, _) = try await access(id, user: user)
        conversation.members = try await members(of: id)
        return conversation
    }

    /// The conversation (with its members unless `members` is false), without any access check (for events).
    func snapshot(_ id: String, members withMembers: Bool = true) async throws(SwitchboardError) -> Conversation {
        let hash = try await mapRedis { try await redis.send("HGETALL", keys.conversation(id)) }.stringPairs ?? [:]
        guard var conversation = Conversation(hash: hash) else { throw .notFound("conversation not found") }
        if withMembers { conversation.members = try await members(of: id) }
        return conversation
    }

    /// The members of a conversation, longest-standing first, each with their read pointer.
    public func members(of id: String) async throws(SwitchboardError) -> [Member] {
        let replies = try await mapRedis {
            try await redis.pipeline([
                RedisCommand("ZRANGE", [keys.joined(id), 0, -1]),
                RedisCommand("HGETALL", [keys.members(id)]),
                RedisCommand("HGETALL", [keys.readPointers(id)]),
            ])
        }
        let roles = replies[1].stringPairs ?? [:]
        let reads = replies[2].stringPairs ?? [:]
        var seen = Set<String>()
        var members: [Member] = []
        for id in replies[0].array?.compactMap(\.string) ?? [] {
            if let role = roles[id] {
                members.append(Member(id: id, role: MemberRole(rawValue: role) ?? .member, read: reads[id].flatMap { Int($0) }))
                seen.insert(id)
            }
        }
        for (id, role) in roles.sorted(by: { $0.key < $1.key }) where !seen.contains(id) {
            members.append(Member(id: id, role: MemberRole(rawValue: role) ?? .member, read: reads[id].flatMap { Int($0) }))
        }
        return members
    }

    /// The user's conversations, newest activity first, each with `unread`
    /// and `lastMessage`: two pipelined round trips whatever the count.
    public func list(user: String, limit: Int) async throws(SwitchboardError) -> [Conversation] {
        let ids =
            try await mapRedis { try await redis.send("SMEMBERS", keys.userConversations(user)) }
            .array?.compactMap(\.string) ?? []
        guard !ids.isEmpty else { return [] }
        var commands: [RedisCommand] = []
        commands.reserveCapacity(ids.count * 4)
        for id in ids {
            commands.append(RedisCommand("HGETALL", [keys.conversation(id)]))
            commands.append(RedisCommand("HGET", [keys.members(id), user]))
            commands.append(RedisCommand("HGET", [keys.readPointers(id), user]))
            commands.append(RedisCommand("HGET", [keys.muted(id), user]))
        }
        let replies = try await mapRedis { try await redis.pipeline(commands) }
        var result: [Conversation] = []
        var stale: [String] = []
        for (index, id) in ids.enumerated() {
            guard var conversation = replies[index * 4].stringPairs.flatMap(Conversation.init(hash:)),
                replies[index * 4 + 1].string != nil
            else {
                stale.append(id)
                continue
            }
            conversation.unread = max(0, conversation.seq - (replies[index * 4 + 2].int ?? 0))
            conversation.mutedUntil = mutedUntil(replies[index * 4 + 3])
            result.append(conversation)
        }
        if !stale.isEmpty {
            // The index lags a membership change that failed half way: repair it.
            _ = try? await redis.execute(RedisCommand("SREM", [keys.userConversations(user)] + stale))
        }
        result.sort {
            let left = $0.lastActivity ?? $0.createdAt
            let right = $1.lastActivity ?? $1.createdAt
            return left != right ? left > right : $0.id < $1.id
        }
        return Array(result.prefix(limit))
    }

    /// Public rooms whose name starts with `prefix` (case-insensitive).
    public func rooms(prefix: String, limit: Int) async throws(SwitchboardError) -> [Conversation] {
        let lower = prefix.lowercased()
        let entries =
            try await mapRedis {
                // Upper bound: the prefix then byte 0xFF, above every UTF-8 continuation.
                try await redis.send("ZRANGEBYLEX", keys.roomIndex, "[" + lower, Array(("[" + lower).utf8) + [0xFF], "LIMIT", 0, limit)
            }.array?.compactMap(\.string) ?? []
        let ids = entries.compactMap { $0.split(separator: "\u{1F}").last.map(String.init) }
        guard !ids.isEmpty else { return [] }
        let replies = try await mapRedis { try await redis.pipeline(ids.map { RedisCommand("HGETALL", [keys.conversation($0)]) }) }
        return replies.compactMap { $0.stringPairs.flatMap(Conversation.init(hash:)) }
    }

    // MARK: Changing

    /// Renames or describes a conversation (owner/admin).
    public func update(_ id: String, actor: String, name: String?, description: String?) async throws(SwitchboardError) -> Conversation {
        guard Self.isValidID(id) else { throw .notFound("conversation not found") }
        var fields: [any RedisArgumentConvertible] = []
        let before = try await access(id, user: actor).0
        if let name { fields += ["name", try validateName(name)] }
        if let description {
            try configuration.limits.check(description, .description)
            fields += ["description", description]
        }
        guard !fields.isEmpty else { throw .invalid("nothing to change: give name or description") }
        let reply = try await mapRedis {
            try await scripts.evaluate(
                "update_conversation", keys: [keys.conversation(id), keys.members(id)], arguments: [id, actor] + fields, events: events)
        }
        var conversation = try Conversation.decode(reply.string ?? "")
        if conversation.kind == .room, conversation.public == true, let name, before.name != conversation.name {
            _ = try? await redis.pipeline([
                RedisCommand("ZREM", [keys.roomIndex, Self.indexEntry(before.name ?? "", id)]),
                RedisCommand("ZADD", [keys.roomIndex, 0, Self.indexEntry(name, id)]),
            ])
        }
        // To every member: the metadata only (their member lists did not change).
        await publish(keys.conversationChannel(id), LiveEvent.conversation(conversation, change: "updated"))
        conversation.members = try await members(of: id)
        return conversation
    }

    /// Deletes a conversation and everything in it (owner only), with every
    /// member's notifications of it. A direct conversation has no owner:
    /// "deleting" one hides it for the caller only (they leave it: their
    /// index entry, read pointer and notifications go); the other side keeps
    /// it and its history. Asking for the pair again brings it back.
    public func delete(_ id: String, actor: String) async throws(SwitchboardError) {
        guard Self.isValidID(id) else { throw .notFound("conversation not found") }
        let (conversation, _) = try await access(id, user: actor)
        if conversation.kind == .direct {
            try await removeMember(id, actor: actor, target: actor)
            return
        }
        let reply = try await mapRedis {
            try await scripts.evaluate(
                "delete_conversation",
                keys: [
                    keys.conversation(id), keys.members(id), keys.joined(id), keys.readPointers(id), keys.messages(id), keys.edits(id),
                    keys.offline(id),
                ] + keys.messageExtras(id),
                arguments: [id, actor], events: events)
        }
        let members = reply.array?.compactMap(\.string) ?? []
        // The reply index goes too (the script's key list is the conversation's core keys).
        _ = try? await redis.send("DEL", keys.replyCounts(id), keys.thread(id))
        try await indexMembers(id, removed: members)
        await dropNotifications(id, users: members)
        if conversation.kind == .room {
            _ = try? await redis.send("ZREM", keys.roomIndex, Self.indexEntry(conversation.name ?? "", id))
        }
        for member in members {
            await publish(keys.userChannel(member), LiveEvent.conversation(conversation, change: "removed"))
        }
    }

    /// Adds members: owner/admin of a group or room, or anyone joining a public room themself.
    public func addMembers(_ id: String, actor: String, users: [String]) async throws(SwitchboardError) -> Conversation {
        guard Self.isValidID(id) else { throw .notFound("conversation not found") }
        let users = Array(Set(users))
        guard !users.isEmpty, users.count <= 1000 else { throw .invalid("users: 1 to 1000 user ids") }
        try await requireUsers(users)
        let mode = users == [actor] ? "self" : "admin"
        let reply = try await mapRedis {
            try await scripts.evaluate(
                "add_members",
                keys: [keys.conversation(id), keys.members(id), keys.joined(id), keys.readPointers(id), keys.offline(id)],
                arguments: [id, actor, clock.milliseconds, mode] + users, events: events)
        }
        let added = reply.array?.compactMap(\.string) ?? []
        var conversation = try await snapshot(id)
        // Every listed user who is a member now gets the index entry (SADD is
        // idempotent): a retry after a crash before this step repairs it.
        let current = Set(conversation.members?.map(\.id) ?? [])
        try await indexMembers(id, added: Array(Set(added + users.filter(current.contains))))
        if !added.isEmpty {
            let joined = Set(added)
            let changes = MemberChanges(
                added: (conversation.members ?? []).filter { joined.contains($0.id) }.map { Member(id: $0.id, role: $0.role) })
            await publish(keys.conversationChannel(id), LiveEvent.membersChanged(conversation, changes))
            conversation.unread = 0
            for user in added {
                await publish(keys.userChannel(user), LiveEvent.conversation(conversation, change: "added"))
            }
        }
        return try await get(id, user: actor)
    }

    /// Removes a member (admin) or leaves (anyone). The owner's leaving hands
    /// ownership over; the last member's leaving deletes the conversation.
    public func removeMember(_ id: String, actor: String, target: String) async throws(SwitchboardError) {
        guard Self.isValidID(id) else { throw .notFound("conversation not found") }
        let (conversation, _) = try await access(id, user: actor)
        let reply = try await mapRedis {
            try await scripts.evaluate(
                "remove_member",
                keys: [
                    keys.conversation(id), keys.members(id), keys.joined(id), keys.readPointers(id), keys.messages(id), keys.edits(id),
                    keys.offline(id),
                ] + keys.messageExtras(id),
                arguments: [id, actor, target], events: events)
        }
        let status = reply.array?.first?.string
        let newOwner = reply.array?.dropFirst().first?.string ?? ""
        try await indexMembers(id, removed: [target])
        await dropNotifications(id, users: [target])
        await publish(keys.userChannel(target), LiveEvent.conversation(conversation, change: "removed"))
        if status == "deleted" {
            if conversation.kind == .room {
                _ = try? await redis.send("ZREM", keys.roomIndex, Self.indexEntry(conversation.name ?? "", id))
            }
        } else if let current = try? await snapshot(id, members: false) {
            let changes = MemberChanges(removed: [target], changed: newOwner.isEmpty ? [] : [Member(id: newOwner, role: .owner)])
            await publish(keys.conversationChannel(id), LiveEvent.membersChanged(current, changes))
        }
    }

    /// Changes a member's role (owner only); `owner` hands ownership over.
    public func setRole(_ id: String, actor: String, target: String, role: MemberRole) async throws(SwitchboardError) -> Conversation {
        guard Self.isValidID(id) else { throw .notFound("conversation not found") }
        let reply = try await mapRedis {
            try await scripts.evaluate(
                "set_role", keys: [keys.conversation(id), keys.members(id)], arguments: [id, actor, target, role.rawValue], events: events)
        }
        let conversation = try await snapshot(id, members: false)
        var changed = [Member(id: target, role: MemberRole(rawValue: reply.string ?? role.rawValue) ?? role)]
        // Handing ownership over makes the old owner an admin.
        if role == .owner, target != actor { changed.append(Member(id: actor, role: .admin)) }
        await publish(keys.conversationChannel(id), LiveEvent.membersChanged(conversation, MemberChanges(changed: changed)))
        return try await get(id, user: actor)
    }
}
