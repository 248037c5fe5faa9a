import RedisClient

/// What the app's backend may do through the server API: no actor role
/// checks, but the same scripts (and so the same events and live delivery)
/// as users' own changes.
extension ConversationService {
    /// Creates a conversation of any kind with any members; the first member
    /// becomes owner (direct: exactly two members, answered 200-style when it exists).
    public func createForServer(
        kind: ConversationKind, name: String?, members: [String], public: Bool?
    ) async throws(SwitchboardError) -> (Conversation, created: Bool) {
        var unique: [String] = []
        for member in members where !unique.contains(member) { unique.append(member) }
        guard let owner = unique.first else { throw .invalid("members: at least one user id (the first becomes owner)") }
        guard unique.count <= 1000 else { throw .invalid("members: at most 1000") }
        try await requireUsers(unique)
        switch kind {
        case .direct:
            guard unique.count == 2 else { throw .invalid("members: a direct conversation has exactly two") }
            return try await create(
                id: Self.directID(unique[0], unique[1]), kind: .direct, name: "", public: false, actor: owner, members: unique)
        case .group:
            let name = try validateName(name ?? "")
            return try await create(id: "c_" + RandomID.make(length: 12), kind: .group, name: name, public: false, actor: owner, members: unique)
        case .room:
            let name = try validateName(name ?? "")
            let isPublic = `public` ?? true
            let result = try await create(
                id: "r_" + RandomID.make(length: 12), kind: .room, name: name, public: isPublic, actor: owner, members: unique)
            if isPublic {
                _ = try await mapRedis { try await redis.send("ZADD", keys.roomIndex, 0, Self.indexEntry(name, result.0.id)) }
            }
            return result
        }
    }

    /// Adds members to a group or room (not a direct conversation), whoever the owner is.
    public func addMembersForServer(_ id: String, users: [String]) async throws(SwitchboardError) -> Conversation {
        guard Self.isValidID(id) else { throw .notFound("conversation not found") }
        let users = Array(Set(users)).sorted()
        guard !users.isEmpty, users.count <= 1000 else { throw .invalid("users: 1 to 1000 user ids") }
        try await requireUsers(users)
        let reply = try await mapRedis {
            try await scripts.evaluate(
                "add_members",
                keys: [keys.conversation(id), keys.members(id), keys.joined(id), keys.readPointers(id), keys.offline(id)],
                arguments: [id, "server", clock.milliseconds, "server"] + users, events: events)
        }
        let added = reply.array?.compactMap(\.string) ?? []
        try await indexMembers(id, added: added)
        var conversation = try await snapshot(id)
        if !added.isEmpty {
            await publish(keys.conversationChannel(id), LiveEvent.conversation(conversation, change: "updated"))
            var joined = conversation
            joined.unread = 0
            for user in added { await publish(keys.userChannel(user), LiveEvent.conversation(joined, change: "added")) }
        }
        conversation.members = try await members(of: id)
        return conversation
    }

    /// Removes a member whatever their role: as if they left (an owner's
    /// leaving hands ownership over; the last member's deletes the conversation).
    public func removeMemberForServer(_ id: String, user: String) async throws(SwitchboardError) {
        try await removeMember(id, actor: user, target: user)
    }

    /// Stores and broadcasts a system message (`from: "system"`, `kind: "system"`).
    public func sendSystem(_ id: String, text: String) async throws(SwitchboardError) -> (Message, RawSendResult) {
        guard Self.isValidID(id) else { throw .notFound("conversation not found") }
        try validateText(text)
        let reply = try await mapRedis {
            try await scripts.evaluate(
                "send_system", keys: [keys.conversation(id), keys.messages(id), keys.offline(id)],
                arguments: [id, text, clock.milliseconds, configuration.retention, keys.conversationChannel(id)], events: events)
        }
        guard let parts = reply.array, parts.count == 4, let json = parts[1].string else {
            throw SwitchboardError(.internalError, "unexpected reply from send_system")
        }
        let (kind, offline) = Self.notificationTargets(parts)
        return (try Message.decode(json), RawSendResult(messageJSON: json, created: true, kind: kind, offline: offline))
    }
}
