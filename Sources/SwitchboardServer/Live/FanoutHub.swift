import Foundation
import Logging
import Metrics
import NIOCore
import NIOPosix
import RedisClient
import Synchronization
import SwitchboardCore

/// One per node: subscribes the pub/sub channels of the conversations and
/// users that have a local connection (reference counted), decodes each
/// published event once, encodes its frame once, and hands it to every event
/// loop once. Tracks the last seq delivered per conversation and replays
/// from the stream when seqs jump or the subscriber reconnected.
final class FanoutHub: Sendable {
    let switchboard: Switchboard
    let subscriber: RedisSubscriber
    let logger: Logger
    private let loops: [ObjectIdentifier: LoopHub]
    private let loopList: [LoopHub]
    private let references = Mutex<[String: Int]>([:])
    private let tracks: NIOLoopBoundBox<[String: ConversationTrack]>
    private let convPrefix: String
    private let userPrefix: String
    private let presencePrefix: String
    private let sendBuckets = Mutex<[String: TokenBucket]>([:])

    let deliveredCounter = Counter(label: "switchboard_messages_delivered_total")
    let replayedCounter = Counter(label: "switchboard_pubsub_replayed_messages_total")
    let reconnectCounter = Counter(label: "switchboard_pubsub_reconnects_total")
    /// Publish (message ts) → frame written on this node, once per loop per message.
    let fanoutTimer = Metrics.Timer(label: "switchboard_fanout_delay_seconds")

    /// What the hub knows of one subscribed conversation's message stream.
    struct ConversationTrack {
        var lastSeq: Int?
        var recovering = false
        var pending: [PublishedEvent] = []
    }

    init(switchboard: Switchboard, eventLoopGroup: any EventLoopGroup, logger: Logger) throws {
        self.switchboard = switchboard
        self.logger = logger
        var redisConfiguration = try RedisConfiguration(url: switchboard.configuration.redisURL ?? "redis://127.0.0.1:6379")
        redisConfiguration.clientName = "switchboard-\(switchboard.configuration.nodeID)-pubsub"
        var loops: [ObjectIdentifier: LoopHub] = [:]
        var list: [LoopHub] = []
        for loop in eventLoopGroup.makeIterator() {
            let hub = LoopHub(eventLoop: loop)
            loops[ObjectIdentifier(loop)] = hub
            list.append(hub)
        }
        self.loops = loops
        self.loopList = list
        let subscriberLoop = eventLoopGroup.next()
        self.tracks = NIOLoopBoundBox.makeBoxSendingValue([:], eventLoop: subscriberLoop)
        // `sb:live:conv:{` and `sb:live:user:{`: the id follows, then `}`.
        self.convPrefix = String(switchboard.keys.conversationChannel("").dropLast())
        self.userPrefix = String(switchboard.keys.userChannel("").dropLast())
        self.presencePrefix = String(switchboard.keys.presenceChannel("").dropLast())
        let box = HubReference()
        self.subscriber = RedisSubscriber(
            configuration: redisConfiguration, eventLoopGroup: subscriberLoop, logger: logger,
            handler: { event in box.hub?.handle(event) })
        box.hub = self
    }

    /// The loop hub of an event loop (sessions live on their channel's loop).
    func loopHub(for eventLoop: any EventLoop) -> LoopHub {
        loops[ObjectIdentifier(eventLoop)]!
    }

    /// Runs `body` on every loop with its loop hub.
    func forEachLoop(_ body: @escaping @Sendable (LoopHub) -> Void) {
        for hub in loopList {
            hub.eventLoop.execute { body(hub) }
        }
    }

    /// Every local user with their connection ids (from every loop), for the heartbeat.
    func localConnections() async -> [String: [String]] {
        var all: [String: [String]] = [:]
        for hub in loopList {
            let part = (try? await hub.eventLoop.submit { hub.connections() }.get()) ?? [:]
            all.merge(part) { $0 + $1 }
        }
        return all
    }

    func startTimers() { forEachLoop { $0.startTimer() } }
    func stopTimers() { forEachLoop { $0.stopTimer() } }

    // MARK: Subscriptions

    /// Takes a reference on channels; subscribes those that were not yet, in
    /// one command. For a conversation subscribed anew, the hub first reads its
    /// seq: a message lost before the subscription took effect is then a gap
    /// the next message (or a subscriber reconnect) replays.
    func retain(_ channels: [String]) -> EventLoopFuture<Void> {
        let fresh = references.withLock { references -> [String] in
            var fresh: [String] = []
            for channel in channels {
                references[channel, default: 0] += 1
                if references[channel] == 1, channel.hasPrefix(convPrefix) { fresh.append(channel) }
            }
            return fresh
        }
        guard !fresh.isEmpty else { return subscriber.subscribeFuture(channels) }
        let prefix = convPrefix
        let ids = fresh.map { Self.id(in: $0, prefix: prefix) }
        let keys = switchboard.keys
        let tracks = self.tracks
        let subscriber = self.subscriber
        return switchboard.redis.pipeline(ids.map { RedisCommand("HGET", [keys.conversation($0), "seq"]) })
            .flatMap { replies in
                tracks.eventLoop.submit {
                    for (id, reply) in zip(ids, replies) where tracks.value[id]?.lastSeq == nil {
                        tracks.value[id, default: ConversationTrack()].lastSeq = reply.int ?? 0
                    }
                }
            }
            .recover { _ in }
            .flatMap { subscriber.subscribeFuture(channels) }
    }

    /// Drops references; unsubscribes the channels nobody local needs any more.
    func release(_ channels: [String]) {
        let unused = references.withLock { references -> [String] in
            var unused: [String] = []
            for channel in channels {
                guard let count = references[channel] else { continue }
                if count <= 1 {
                    references[channel] = nil
                    unused.append(channel)
                } else {
                    references[channel] = count - 1
                }
            }
            return unused
        }
        guard !unused.isEmpty else { return }
        subscriber.unsubscribe(unused)
        let prefix = convPrefix
        let tracks = self.tracks
        tracks.eventLoop.execute {
            for channel in unused where channel.hasPrefix(prefix) {
                tracks.value[Self.id(in: channel, prefix: prefix)] = nil
            }
        }
    }

    static func id(in channel: String, prefix: String) -> String {
        String(channel.dropFirst(prefix.count).dropLast())
    }

    // MARK: Rate limit

    /// Per-user send bucket in this node's memory (one Redis round trip per send stays one).
    func takeSendToken(user: String) -> (allowed: Bool, retryAfter: Double) {
        let limits = switchboard.configuration.limits
        let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
        return sendBuckets.withLock { buckets in
            var bucket = buckets[user] ?? TokenBucket(capacity: Double(limits.sendBurst), refillPerSecond: limits.sendRefillPerSecond, now: now)
            let result = bucket.take(now: now)
            buckets[user] = bucket
            return result
        }
    }

    /// Drops buckets that refilled completely (the same as no bucket), so the map stays small.
    func pruneSendBuckets() {
        let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
        sendBuckets.withLock { buckets in
            buckets = buckets.filter { _, bucket in
                var copy = bucket
                return copy.take(0, now: now).allowed && copy.tokens < copy.capacity
            }
        }
    }

    // MARK: Events from Redis

    /// One event published on a channel, decoded once.
    struct PublishedEvent {
        /// The client frame, encoded once (`ServerFrame`), shared by every recipient.
        var frame: ByteBuffer
        var seq: Int?
        var origin: String?
        var event: String
        /// The decoded JSON, for events the hub acts on (`conversation`); empty for messages.
        var object: [String: Any]
        /// The message's `ts` (ms), to measure publish → written.
        var ts: Int? = nil
    }

    private static let messagePrefix = Array(#"{"ev":"message","message":{"#.utf8)
    private static let originMarker = Array(#","origin":""#.utf8)
    private static let seqKey = Array(#""seq":"#.utf8)
    private static let tsKey = Array(#""ts":"#.utf8)

    /// Decodes a payload, strips `origin`, and encodes the client frame once.
    static func decode(_ payload: [UInt8]) -> PublishedEvent? {
        if let event = decodeMessage(payload) { return event }
        guard var object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any],
            let event = object["ev"] as? String
        else { return nil }
        let origin = object.removeValue(forKey: "origin") as? String
        let seq = (object["message"] as? [String: Any])?["seq"].flatMap { ClientCommand.integer($0) }
        let ts = (object["message"] as? [String: Any])?["ts"].flatMap { ClientCommand.integer($0) }
        let frame: ByteBuffer
        if origin == nil {
            frame = ServerFrame.text(bytes: payload)
        } else {
            frame = ServerFrame.text(JSONText.serialize(object))
        }
        return PublishedEvent(
            frame: frame, seq: event == "message" ? seq : nil, origin: origin?.isEmpty == true ? nil : origin,
            event: event, object: object, ts: event == "message" ? ts : nil)
    }

    /// The fast path for what `send.lua` publishes,
    /// `{"ev":"message","message":{...},"origin":"..."}` in this order: the
    /// frame is the payload's bytes without the origin, seq and ts are read
    /// off the message object; no JSON parse. (A `"` inside a JSON string is
    /// always escaped, so `"seq":` and `,"origin":"` can only be structure.)
    static func decodeMessage(_ payload: [UInt8]) -> PublishedEvent? {
        guard payload.count > messagePrefix.count + originMarker.count + 2,
            payload.starts(with: messagePrefix), payload.last == UInt8(ascii: "}")
        else { return nil }
        // The origin: from the last `,"origin":"` to the closing `"}`.
        let end = payload.count - 2
        guard payload[end] == UInt8(ascii: "\"") else { return nil }
        var start = end - 1
        while start >= messagePrefix.count, payload[start] != UInt8(ascii: "\"") { start -= 1 }
        let markerStart = start - (originMarker.count - 1)
        guard markerStart > messagePrefix.count,
            payload[markerStart..<(start + 1)].elementsEqual(originMarker),
            !payload[(start + 1)..<end].contains(UInt8(ascii: "\\"))
        else { return nil }
        let origin = String(decoding: payload[(start + 1)..<end], as: UTF8.self)
        let message = payload[messagePrefix.count..<markerStart]
        guard let seq = integer(after: seqKey, in: message), let ts = integer(after: tsKey, in: message) else { return nil }
        let frame = ServerFrame.make(.text, length: markerStart + 1) { frame in
            frame.writeBytes(payload[..<markerStart])
            frame.writeInteger(UInt8(ascii: "}"))
        }
        return PublishedEvent(
            frame: frame, seq: seq, origin: origin.isEmpty ? nil : origin, event: "message", object: [:], ts: ts)
    }

    /// The non-negative integer right after the first `key` in `bytes`.
    static func integer(after key: [UInt8], in bytes: ArraySlice<UInt8>) -> Int? {
        guard let first = key.first else { return nil }
        var index = bytes.startIndex
        let last = bytes.endIndex - key.count
        while index <= last {
            if bytes[index] == first, bytes[index..<(index + key.count)].elementsEqual(key) {
                var value = 0
                var position = index + key.count
                var digits = 0
                while position < bytes.endIndex, (48...57).contains(bytes[position]), digits < 18 {
                    value = value * 10 + Int(bytes[position] - 48)
                    position += 1
                    digits += 1
                }
                return digits > 0 ? value : nil
            }
            index += 1
        }
        return nil
    }

    /// One counter per event type, made once (a `Counter(label:dimensions:)` per event is a locked lookup).
    private let eventCounters: [String: Counter] = Dictionary(
        uniqueKeysWithValues: ["message", "message.edited", "message.deleted", "typing", "read", "conversation", "presence"]
            .map { ($0, Counter(label: "switchboard_events_total", dimensions: [("ev", $0)])) })

    private func handle(_ event: RedisPubSubEvent) {
        switch event {
        case .message(let channel, let payload, _):
            guard let decoded = Self.decode(payload) else {
                logger.warning("unreadable pub/sub payload", metadata: ["channel": "\(channel)"])
                return
            }
            (eventCounters[decoded.event] ?? Counter(label: "switchboard_events_total", dimensions: [("ev", decoded.event)]))
                .increment()
            if channel.hasPrefix(convPrefix) {
                conversationEvent(Self.id(in: channel, prefix: convPrefix), decoded)
            } else if channel.hasPrefix(userPrefix) {
                userEvent(Self.id(in: channel, prefix: userPrefix), decoded)
            } else if channel.hasPrefix(presencePrefix) {
                let user = Self.id(in: channel, prefix: presencePrefix)
                let frame = decoded.frame
                forEachLoop { hub in hub.deliver(presenceOf: user, frame: frame) }
            }
        case .connected(let gap):
            if gap {
                reconnectCounter.increment()
                recoverAll()
            }
        case .disconnected, .patternMessage:
            break
        }
    }

    private func conversationEvent(_ conversation: String, _ event: PublishedEvent) {
        var track = tracks.value[conversation] ?? ConversationTrack()
        defer { tracks.value[conversation] = track }
        if track.recovering {
            track.pending.append(event)
            return
        }
        if let seq = event.seq {
            if let last = track.lastSeq {
                if seq <= last { return }
                if seq > last + 1 {
                    track.recovering = true
                    track.pending = [event]
                    recover(conversation, after: last)
                    return
                }
            }
            track.lastSeq = seq
        }
        broadcast(conversation, event)
    }

    private func broadcast(_ conversation: String, _ event: PublishedEvent) {
        let frame = event.frame
        let seq = event.seq
        let origin = event.origin
        let ts = event.ts
        let timer = fanoutTimer
        let clock = switchboard.clock
        if event.event == "message" { deliveredCounter.increment() }
        forEachLoop { hub in
            if hub.deliver(conversation: conversation, frame: frame, seq: seq, origin: origin) > 0, let ts {
                timer.recordMilliseconds(max(0, clock.milliseconds - ts))
            }
        }
    }

    /// Replays the messages after `last` from the stream, then the events that queued meanwhile.
    private func recover(_ conversation: String, after last: Int) {
        let conversations = switchboard.conversations
        let limit = switchboard.configuration.live.resumeLimit
        let tracks = self.tracks
        let logger = self.logger
        Task {
            // Redis may still be coming back: retry for a while (live events queue meanwhile).
            var fetched: (messages: [Message], complete: Bool)?
            for attempt in 0..<150 {
                fetched = try? await conversations.messages(after: last, in: conversation, limit: limit)
                if fetched != nil { break }
                try? await Task.sleep(nanoseconds: UInt64(min(1_000, 50 * (attempt + 1))) * 1_000_000)
            }
            tracks.eventLoop.execute { [self] in
                var track = tracks.value[conversation] ?? ConversationTrack()
                var lastSeq = last
                for message in fetched?.messages ?? [] where message.seq > lastSeq {
                    let frame = ServerFrame.text(#"{"ev":"message","message":"# + JSONText.encode(message) + "}")
                    broadcast(conversation, PublishedEvent(frame: frame, seq: message.seq, origin: nil, event: "message", object: [:]))
                    replayedCounter.increment()
                    lastSeq = message.seq
                }
                if fetched == nil { logger.warning("could not replay a pub/sub gap", metadata: ["conv": "\(conversation)"]) }
                let pending = track.pending
                track.pending = []
                track.recovering = false
                for event in pending {
                    if let seq = event.seq {
                        if seq <= lastSeq { continue }
                        lastSeq = seq
                    }
                    broadcast(conversation, event)
                }
                track.lastSeq = lastSeq
                tracks.value[conversation] = track
            }
        }
    }

    /// After a subscriber reconnect: replay every tracked conversation's gap.
    private func recoverAll() {
        for (conversation, track) in tracks.value {
            guard let last = track.lastSeq, !track.recovering else { continue }
            tracks.value[conversation]?.recovering = true
            tracks.value[conversation]?.pending = []
            recover(conversation, after: last)
        }
    }

    private func userEvent(_ user: String, _ event: PublishedEvent) {
        let frame = event.frame
        var found: (String, String)?
        if event.event == "conversation", let kind = event.object["change"] as? String,
            let conversation = (event.object["conversation"] as? [String: Any])?["id"] as? String
        {
            found = (kind, conversation)
        }
        let change = found
        let channelOf = switchboard.keys.conversationChannel
        forEachLoop { [self] hub in
            var joining: [(WebSocketSession, EventLoopFuture<Void>)] = []
            for session in hub.sessions(ofUser: user) {
                if let (kind, conversation) = change {
                    if kind == "added" {
                        if let subscribed = session.joinConversation(conversation, channel: channelOf(conversation), hub: self) {
                            joining.append((session, subscribed))
                        }
                    } else if kind == "removed" {
                        session.leaveConversation(conversation, channel: channelOf(conversation), hub: self)
                    }
                }
            }
            guard !joining.isEmpty else {
                hub.deliver(user: user, frame: frame)
                return
            }
            // A session that just joined gets "added" once the node's subscription
            // is live: whatever the client then does (resume, history, wait for
            // events), nothing published afterwards passes it by.
            let joined = Set(joining.map { ObjectIdentifier($0.0) })
            for session in hub.sessions(ofUser: user) where !joined.contains(ObjectIdentifier(session)) {
                session.deliver(frame, conversation: nil, seq: nil)
                session.flushIfNeeded()
            }
            for (session, subscribed) in joining {
                let bound = NIOLoopBound(session, eventLoop: hub.eventLoop)
                subscribed.hop(to: hub.eventLoop).whenComplete { _ in
                    bound.value.deliver(frame, conversation: nil, seq: nil)
                    bound.value.flushIfNeeded()
                }
            }
        }
    }
}

/// Lets the subscriber's handler reach the hub built after it.
private final class HubReference: @unchecked Sendable {
    weak var hub: FanoutHub?
}
