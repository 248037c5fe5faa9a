import Foundation
import NIOHTTP1

/// Users and conversations, through the REST API.
extension LiveBench {
    /// Users 0..<count: from the cache when their tokens are still good, else registered (or logged in).
    func provisionUsers(_ count: Int, http: HTTPPool) async throws -> [BenchUser] {
        let command = self.command
        var cache = UserCache(path: command.usersCache)
        cache.load()
        if let any = cache.users.values.first {
            // A cache from another Redis (or with a rotated secret) is useless.
            let check = try await http.withConnection { try await $0.request(.GET, "/api/v1/users/me", token: any.access) }
            if check.status != 200 {
                log("users cache does not match this server (\(check.status)): starting over")
                cache.users = [:]
            }
        }
        let names = (0..<count).map { command.userPrefix + String($0) }
        let horizon = Int(Date().timeIntervalSince1970) + 3600
        let missing = names.indices.filter { index in
            guard let user = cache.users[names[index]] else { return true }
            return (user.expiry ?? 0) < horizon
        }
        if !missing.isEmpty {
            let started = monotonicMicros()
            log("registering or refreshing \(missing.count) users (\(count - missing.count) cached)")
            let done = AtomicCounter()
            let password = command.password
            let cached = cache.users
            let obtained = try await http.parallel(missing.count, concurrency: command.httpConcurrency) { connection, job in
                let name = names[missing[job]]
                let user = try await Self.obtainUser(name: name, password: password, cached: cached[name], connection: connection)
                let finished = done.next() + 1
                if finished % 1000 == 0 {
                    printError("bench: \(finished) users, \(Int(Double(finished) / (Double(monotonicMicros() - started) / 1e6)))/s")
                }
                return user
            }
            for user in obtained { cache.users[user.name] = user }
            cache.save()
            log("users ready in \(seconds(since: started)) s")
        }
        return try names.map { name in
            guard let user = cache.users[name] else { throw BenchError("user \(name) missing") }
            return user
        }
    }

    /// Refreshes a cached user's tokens, else registers (or logs in when the name is taken).
    static func obtainUser(name: String, password: String, cached: BenchUser?, connection: HTTPConnection) async throws -> BenchUser {
        if let cached {
            let reply = try await connection.request(.POST, "/api/v1/auth/refresh", json: ["refreshToken": cached.refresh])
            if reply.status == 200, let user = BenchUser(name: name, reply: reply) { return user }
        }
        var attempt = 0
        var path = "/api/v1/auth/register"
        while true {
            attempt += 1
            let reply = try await connection.request(.POST, path, json: ["username": name, "password": password])
            switch reply.status {
            case 200, 201:
                guard let user = BenchUser(name: name, reply: reply) else { throw BenchError("unreadable auth reply: \(reply.text)") }
                return user
            case 409 where path.hasSuffix("register"):
                path = "/api/v1/auth/login"
            case 429 where attempt < 20, 503 where attempt < 20:
                try await Task.sleep(nanoseconds: UInt64(max(reply.retryAfter ?? 1, 1)) * 1_000_000_000)
            default:
                throw BenchError("\(path) for \(name): \(reply.status) \(reply.text)")
            }
        }
    }

    /// Conversations with consecutive users: room r holds users r*size ..< (r+1)*size; the first is the owner.
    func provisionRooms(users: [BenchUser], roomCount: Int, roomSize: Int, http: HTTPPool) async throws -> [String] {
        let command = self.command
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let rooms = try await http.parallel(roomCount, concurrency: min(command.httpConcurrency, 8)) { connection, room in
            let members = Array(users[(room * roomSize)..<min(users.count, (room + 1) * roomSize)])
            let owner = members[0]
            let others = members.dropFirst().map(\.id)
            let body: [String: Any] =
                command.kind == "group"
                ? ["kind": "group", "name": "bench \(tag) \(room)", "members": Array(others.prefix(1000))]
                : ["kind": "room", "name": "bench \(tag) \(room)", "public": true]
            let reply = try await connection.request(.POST, "/api/v1/conversations", json: body, token: owner.access)
            guard reply.status == 201 || reply.status == 200,
                let id = (reply.json?["conversation"] as? [String: Any])?["id"] as? String
            else { throw BenchError("create conversation: \(reply.status) \(reply.text)") }
            if command.kind == "group" {
                var rest = others.dropFirst(1000)
                while !rest.isEmpty {
                    let chunk = Array(rest.prefix(1000))
                    rest = rest.dropFirst(1000)
                    let added = try await connection.request(
                        .POST, "/api/v1/conversations/\(id)/members", json: ["users": chunk], token: owner.access)
                    guard added.status == 200 else { throw BenchError("add members: \(added.status) \(added.text)") }
                }
            }
            return id
        }
        if command.kind == "room" {
            // Every member but the owner joins by itself.
            let joiners = users.indices.filter { $0 % roomSize != 0 }
            try await http.parallel(joiners.count, concurrency: command.httpConcurrency) { connection, job in
                let index = joiners[job]
                let user = users[index]
                let reply = try await connection.request(
                    .POST, "/api/v1/conversations/\(rooms[index / roomSize])/members", json: ["users": [user.id]], token: user.access)
                guard reply.status == 200 else { throw BenchError("join room: \(reply.status) \(reply.text)") }
            }
        }
        return rooms
    }
}
