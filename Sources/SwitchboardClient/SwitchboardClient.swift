import Foundation
import NIOCore
import NIOPosix
@_exported import SwitchboardProtocol

/// A Swift client for a Switchboard hub: connects, authenticates, sends with
/// an automatic nonce (retried across reconnects, stored once), delivers
/// events as an `AsyncStream`, and on any disconnect reconnects with backoff
/// (to the next endpoint) and `resume`s from the contiguous seq it holds per
/// conversation, so no message is missed or seen twice. Positions carry the
/// conversation's epoch: a conversation deleted and opened again under the
/// same id is reported as `.conversationReset` and started over.
public actor SwitchboardClient {
    /// Where and how to connect.
    public struct Configuration: Sendable {
        /// Nodes or load balancers to try, in turn.
        public var endpoints: [(host: String, port: Int)]
        public var path: String = "/ws"
        /// Gives the access token for each (re)connect.
        public var token: @Sendable () async throws -> String
        /// First reconnect delay (seconds); doubles up to `maximumBackoff`.
        public var initialBackoff: Double = 0.1
        public var maximumBackoff: Double = 5
        /// Seconds a command may wait for its reply.
        public var requestTimeout: Double = 15
        /// Seconds a `send` keeps retrying across reconnects.
        public var sendRetryWindow: Double = 60
        /// Base URL of the REST API (posts, follows, the feed), e.g.
        /// `https://chat.example.com/api/v1`; nil: the first endpoint over `http://`.
        public var apiBaseURL: String?
        /// Send `delivered` for received messages (at most one per
        /// conversation per `deliveryReceiptInterval`, the newest seq).
        public var sendsDeliveryReceipts = true
        /// Seconds between two `delivered` ops of one conversation.
        public var deliveryReceiptInterval: Double = 1

        public init(endpoints: [(host: String, port: Int)], token: @escaping @Sendable () async throws -> String) {
            self.endpoints = endpoints
            self.token = token
        }
    }

    public nonisolated let events: AsyncStream<ChatEvent>
    private let continuation: AsyncStream<ChatEvent>.Continuation
    let configuration: Configuration
    /// The REST API (`apiBaseURL`).
    let rest: RESTTransport
    /// The token the `token` closure gave last; REST calls reuse it until a 401.
    var lastToken: String?
    private var connection: WebSocketConnection?
    private var pending: [Int: CheckedContinuation<Reply, any Error>] = [:]
    private var nextID = 0
    private var runner: Task<Void, Never>?
    private var stopped = false
    private var ready = false
    private var readyWaiters: [CheckedContinuation<Void, any Error>] = []
    /// Per conversation: the highest seq up to which every message was seen.
    private var positions: [String: Int] = [:]
    /// Seqs seen beyond the contiguous position (after a gap), per conversation.
    private var ahead: [String: Set<Int>] = [:]
    /// Per conversation: the epoch the position and seqs above belong to.
    private var epochs: [String: String] = [:]
    /// Per conversation: its member list, kept from `conversation` events.
    private var memberLists: [String: [Member]] = [:]
    /// Delivery receipts (`SwitchboardClient+Receipts.swift`).
    var receipts = DeliveryReceipts()

    public init(configuration: Configuration) {
        self.configuration = configuration
        let first = configuration.endpoints.first ?? (host: "127.0.0.1", port: 8080)
        self.rest = RESTTransport(
            baseURL: configuration.apiBaseURL ?? "http://\(first.host):\(first.port)/api/v1", timeout: configuration.requestTimeout)
        (events, continuation) = AsyncStream.makeStream(of: ChatEvent.self, bufferingPolicy: .unbounded)
    }

    /// The contiguous positions (conversation → seq) this client holds.
    public var contiguousPositions: [String: Int] { positions }

    /// The epoch of each conversation whose position this client holds (when the hub sent one).
    public var conversationEpochs: [String: String] { epochs }

    /// A conversation's member list as kept from `conversation` events (nil: not known).
    public func members(of conversation: String) -> [Member]? { memberLists[conversation] }

    /// Hands over a member list read with REST, so later `conversation` changes apply to it.
    public func setMembers(_ members: [Member], for conversation: String) {
        memberLists[conversation] = members
    }

    /// Starts connecting (and reconnecting) in the background; returns once connected the first time.
    public func connect() async throws {
        if runner == nil {
            runner = Task { await self.run() }
        }
        try await waitUntilReady(timeout: configuration.requestTimeout)
    }

    /// Closes the connection for good.
    public func close() async {
        stopped = true
        runner?.cancel()
        cancelDeliveryReceipts()
        await connection?.close()
        failPending(ChatError.closed)
        for waiter in readyWaiters { waiter.resume(throwing: ChatError.closed) }
        readyWaiters = []
        continuation.finish()
    }

    /// Renews the connection's token (before the old one expires).
    public func renew(token: String) async throws {
        _ = try await request("auth", ["token": token])
    }

    /// Sends a message; retried with the same nonce across reconnects, so it is stored once.
    /// `attachments` are ids of the user's uploads (`POST /api/v1/uploads`, see
    /// `SwitchboardUploads`), `replyTo` a message of the conversation, `post` a
    /// post to share; with attachments or a post the text may be "".
    @discardableResult
    public func send(
        _ text: String, to conversation: String, attachments: [String] = [], replyTo: String? = nil, post: String? = nil
    ) async throws -> Message {
        let nonce = UUID().uuidString
        let deadline = Date().addingTimeInterval(configuration.sendRetryWindow)
        var command: [String: Any] = ["op": "send", "conv": conversation, "text": text, "nonce": nonce]
        if !attachments.isEmpty { command["attachments"] = attachments }
        if let replyTo { command["replyTo"] = replyTo }
        if let post { command["post"] = post }
        while true {
            do {
                let reply = try await request(command)
                let message = try Self.decode(Message.self, reply["message"])
                observe(message, own: true)
                return message
            } catch let error as ChatError where error == .disconnected || error == .timeout {
                if Date() > deadline || stopped { throw error }
                try await waitUntilReady(timeout: max(0, deadline.timeIntervalSinceNow))
            }
        }
    }

    /// Sends any command (`op` plus its fields) and returns the reply object;
    /// throws `ChatError` for `ok: false`.
    public func request(_ op: String, _ fields: [String: any Sendable] = [:]) async throws -> ChatReply {
        var body: [String: Any] = fields
        body["op"] = op
        return ChatReply(object: try await request(body))
    }

    /// Starts receiving `presence` events for users; answers their presence now.
    public func watchPresence(_ users: [String]) async throws -> ChatReply {
        try await request("presence.watch", ["users": users])
    }

    /// Marks a conversation read up to `seq`; answers the unread count.
    public func markRead(_ conversation: String, seq: Int) async throws -> Int {
        try await request("read", ["conv": conversation, "seq": seq]).object["unread"] as? Int ?? 0
    }

    func request(_ fields: [String: Any]) async throws -> [String: Any] {
        guard let connection, ready || fields["op"] as? String == "auth" || fields["op"] as? String == "resume" else {
            throw ChatError.disconnected
        }
        nextID += 1
        let id = nextID
        var body = fields
        body["id"] = id
        let data = try JSONSerialization.data(withJSONObject: body)
        let timeout = configuration.requestTimeout
        let reply: Reply = try await withCheckedThrowingContinuation { waiter in
            pending[id] = waiter
            Task {
                do {
                    try await connection.send(text: String(decoding: data, as: UTF8.self))
                } catch {
                    self.resolve(id, with: .failure(ChatError.disconnected))
                }
                try? await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
                self.resolve(id, with: .failure(ChatError.timeout))
            }
        }
        return reply.object
    }

    /// A reply object handed between tasks (immutable once parsed).
    struct Reply: @unchecked Sendable {
        let object: [String: Any]
    }

    private func resolve(_ id: Int, with result: Result<Reply, any Error>) {
        guard let waiter = pending.removeValue(forKey: id) else { return }
        switch result {
        case .success(let reply): waiter.resume(returning: reply)
        case .failure(let error): waiter.resume(throwing: error)
        }
    }

    private func failPending(_ error: any Error) {
        let waiters = pending
        pending = [:]
        for waiter in waiters.values { waiter.resume(throwing: error) }
    }

    private func waitUntilReady(timeout: Double) async throws {
        if ready { return }
        if stopped { throw ChatError.closed }
        try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
            readyWaiters.append(waiter)
            Task {
                try? await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
                self.timeOutReadyWaiter()
            }
        }
    }

    private func timeOutReadyWaiter() {
        guard !ready, !readyWaiters.isEmpty else { return }
        readyWaiters.removeFirst().resume(throwing: ChatError.timeout)
    }

    private func becomeReady() {
        ready = true
        for waiter in readyWaiters { waiter.resume() }
        readyWaiters = []
    }

    // MARK: Connection loop

    private func run() async {
        var attempt = 0
        var endpointIndex = 0
        while !stopped, !Task.isCancelled {
            let endpoint = configuration.endpoints[endpointIndex % configuration.endpoints.count]
            var closeCode: CloseCode?
            do {
                let token = try await freshToken()
                // `resume=1` announces the resume below: live events wait for its replay.
                let path = positions.isEmpty ? configuration.path : configuration.path + (configuration.path.contains("?") ? "&" : "?") + "resume=1"
                let connection = try await WebSocketConnection.connect(
                    host: endpoint.host, port: endpoint.port, path: path,
                    headers: [("Authorization", "Bearer \(token)")])
                self.connection = connection
                let reader = Task { await self.read(connection) }
                // Resume from what we hold, before anything else is sent.
                var resumed: [String: Int] = [:]
                var complete = true
                anchorOwnSends()
                if !positions.isEmpty {
                    let sent = epochs
                    let reply = try await request(["op": "resume", "positions": resumePositions()])
                    resumed = reply["recovered"] as? [String: Int] ?? [:]
                    complete = reply["complete"] as? Bool ?? true
                    for conversation in reply["reset"] as? [String] ?? [] where epochs[conversation] == sent[conversation] {
                        // (Not started over by a replayed message of the new epoch: no message yet.)
                        reset(conversation, epoch: nil)
                    }
                } else {
                    _ = try await request(["op": "auth", "token": token])
                }
                attempt = 0
                becomeReady()
                continuation.yield(.connected(resumed: resumed, complete: complete))
                closeCode = await reader.value
            } catch {
                closeCode = nil
            }
            ready = false
            connection = nil
            failPending(ChatError.disconnected)
            if stopped { break }
            continuation.yield(.disconnected(closeCode: closeCode))
            if closeCode?.isFinal == true {
                stopped = true
                break
            }
            attempt += 1
            endpointIndex += 1
            let delay = min(configuration.maximumBackoff, configuration.initialBackoff * pow(2, Double(attempt - 1)))
            try? await Task.sleep(nanoseconds: UInt64(delay * Double.random(in: 0.8...1.2) * 1e9))
        }
    }

    /// Reads frames until the connection ends; answers the server's close code.
    private func read(_ connection: WebSocketConnection) async -> CloseCode? {
        var closeCode: CloseCode?
        for await inbound in connection.inbound {
            switch inbound {
            case .text(let text):
                handle(text)
            case .close(let code, _):
                closeCode = code.map(CloseCode.init(rawValue:))
            case .binary:
                break
            }
        }
        return closeCode
    }

    private func handle(_ text: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return }
        if let id = object["re"] as? Int {
            if object["ok"] as? Bool == true {
                resolve(id, with: .success(Reply(object: object)))
            } else {
                let error = object["error"] as? [String: Any]
                resolve(
                    id,
                    with: .failure(
                        ChatError(code: ErrorCode(rawValue: error?["code"] as? String ?? "unknown"), message: error?["message"] as? String ?? "")))
            }
            return
        }
        guard let name = object["ev"] as? String else { return }
        switch ServerEvent(rawValue: name) {
        case .message:
            if let message = try? Self.decode(Message.self, object["message"]), observe(message) {
                continuation.yield(.message(message))
                noteDelivered(message)
            }
        case .messageEdited:
            if let message = try? Self.decode(Message.self, object["message"]) { continuation.yield(.messageEdited(message)) }
        case .messageDeleted:
            if let message = try? Self.decode(Message.self, object["message"]) { continuation.yield(.messageDeleted(message)) }
        case .typing:
            continuation.yield(
                .typing(conv: object["conv"] as? String ?? "", user: object["user"] as? String ?? "", active: object["active"] as? Bool ?? false))
        case .read:
            continuation.yield(.read(conv: object["conv"] as? String ?? "", user: object["user"] as? String ?? "", seq: object["seq"] as? Int ?? 0))
        case .presence:
            continuation.yield(
                .presence(
                    user: object["user"] as? String ?? "",
                    status: (object["status"] as? String).flatMap(PresenceStatus.init(rawValue:)) ?? .offline,
                    lastSeen: object["lastSeen"] as? Int))
        case .reaction:
            continuation.yield(
                .reaction(
                    conv: object["conv"] as? String ?? "", id: object["id"] as? String ?? "", emoji: object["emoji"] as? String ?? "",
                    user: object["user"] as? String ?? "", on: object["on"] as? Bool ?? false, count: object["count"] as? Int ?? 0))
        case .pin:
            continuation.yield(
                .pin(
                    conv: object["conv"] as? String ?? "", id: object["id"] as? String ?? "", on: object["on"] as? Bool ?? false,
                    by: object["by"] as? String ?? ""))
        case .delivered:
            continuation.yield(
                .delivered(conv: object["conv"] as? String ?? "", user: object["user"] as? String ?? "", seq: object["seq"] as? Int ?? 0))
        case .conversation:
            guard var conversation = try? Self.decode(Conversation.self, object["conversation"]) else {
                continuation.yield(.other(name: name, json: text))
                return
            }
            let change = object["change"] as? String ?? ""
            let changes = object["members"].flatMap { try? Self.decode(MemberChanges.self, $0) }
            track(&conversation, change: change, changes: changes)
            continuation.yield(.conversation(conversation, change: change, members: changes))
        case .post:
            if let post = try? Self.decode(Post.self, object["post"]) { continuation.yield(.post(post)) }
        case .notification, .error, nil:
            continuation.yield(.other(name: name, json: text))
        }
    }

    /// Keeps the member list (whole with `added`, changes with `updated`) and
    /// fills it into the event's conversation; an `added` of another epoch
    /// than the one held starts the conversation over.
    private func track(_ conversation: inout Conversation, change: String, changes: MemberChanges?) {
        let id = conversation.id
        if change == "removed" {
            memberLists[id] = nil
            return
        }
        if let members = conversation.members {
            memberLists[id] = members
        } else if let changes, let current = memberLists[id] {
            memberLists[id] = changes.apply(to: current)
        }
        conversation.members = memberLists[id]
        if change == "added", let epoch = conversation.epoch, let held = epochs[id], held != epoch {
            reset(id, epoch: epoch)
        }
    }

    /// Tracks the contiguous position of a conversation; false for a message seen before.
    /// Without a known position, the first live message sets it (live
    /// messages come in seq order); the client's own sends wait in `ahead`
    /// until then, since others' earlier messages may still be on the way.
    /// A message of another epoch than the one held starts the conversation over.
    @discardableResult
    private func observe(_ message: Message, own: Bool = false) -> Bool {
        let conversation = message.conv
        if let epoch = message.epoch {
            if let held = epochs[conversation], held != epoch {
                reset(conversation, epoch: epoch)
            } else {
                epochs[conversation] = epoch
            }
        }
        if ahead[conversation]?.contains(message.seq) == true { return false }
        if positions[conversation] == nil {
            if own {
                ahead[conversation, default: []].insert(message.seq)
                return true
            }
            positions[conversation] = message.seq - 1
        }
        let position = positions[conversation]!
        if message.seq <= position { return false }
        if message.seq == position + 1 {
            var next = message.seq
            while ahead[conversation]?.remove(next + 1) != nil { next += 1 }
            positions[conversation] = next
            if ahead[conversation]?.isEmpty == true { ahead[conversation] = nil }
        } else {
            ahead[conversation, default: []].insert(message.seq)
        }
        return true
    }

    /// Before a resume: a conversation known only from the client's own sends
    /// (no live message seen yet, so no position) resumes from its earliest own
    /// message, so what others sent after it and this client missed while
    /// disconnected is replayed, not skipped.
    private func anchorOwnSends() {
        for (conversation, seqs) in ahead where positions[conversation] == nil {
            guard let first = seqs.min() else { continue }
            var next = first
            var pending = seqs
            pending.remove(first)
            while pending.remove(next + 1) != nil { next += 1 }
            positions[conversation] = next
            ahead[conversation] = pending.isEmpty ? nil : pending
        }
    }

    /// The conversation was deleted and opened again: everything held of it
    /// belonged to the old epoch. It starts over from seq 0 of the new one.
    private func reset(_ conversation: String, epoch: String?) {
        positions[conversation] = 0
        ahead[conversation] = nil
        epochs[conversation] = epoch
        continuation.yield(.conversationReset(conv: conversation))
    }

    /// The `resume` positions: `{seq, epoch}` where the epoch is known, else the seq alone.
    private func resumePositions() -> [String: Any] {
        var result: [String: Any] = [:]
        for (conversation, seq) in positions {
            if let epoch = epochs[conversation] {
                result[conversation] = ["seq": seq, "epoch": epoch] as [String: Any]
            } else {
                result[conversation] = seq
            }
        }
        return result
    }

    /// Tells the client the position it holds for a conversation (e.g. from
    /// local storage), with the epoch it belongs to when known.
    public func setPosition(_ seq: Int, for conversation: String, epoch: String? = nil) {
        positions[conversation] = seq
        ahead[conversation] = nil
        epochs[conversation] = epoch
    }

    static func decode<T: Decodable>(_ type: T.Type, _ value: Any?) throws -> T {
        guard let value else { throw ChatError(code: "invalid_reply", message: "missing field") }
        let data = try JSONSerialization.data(withJSONObject: value)
        return try JSONDecoder().decode(type, from: data)
    }
}
