import Foundation
import Logging
import Metrics
import NIOCore
import NIOPosix
import RedisClient
import SwitchboardCore
import Synchronization

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
    private let references = Mutex(SubscriptionCounts())
    private let tracks: NIOLoopBoundBox<[String: ConversationTrack<PublishedEvent>]>
    private let convPrefix: String
    private let userPrefix: String
    private let presencePrefix: String
    private let postsChannel: String
    private let background: BackgroundWork
    /// The per-user send budget of this node's sessions.
    let sendLimiter: SendLimiter

    let deliveredCounter = Counter(label: "switchboard_messages_delivered_total")
    let replayedCounter = Counter(label: "switchboard_pubsub_replayed_messages_total")
    let reconnectCounter = Counter(label: "switchboard_pubsub_reconnects_total")
    /// Publish (message ts) → frame written on this node, once per loop per message.
    let fanoutTimer = Metrics.Timer(label: "switchboard_fanout_delay_seconds")
    /// Pub/sub event received on this node → written and flushed, per loop per event (µs resolution).
    static let nodeFanoutLabel = "switchboard_fanout_node_delay_seconds"

    init(switchboard: Switchboard, eventLoopGroup: any EventLoopGroup, background: BackgroundWork, logger: Logger) throws {
        self.switchboard = switchboard
        self.logger = logger
        self.background = background
        let limits = switchboard.configuration.limits
        self.sendLimiter = SendLimiter(burst: limits.sendBurst, refillPerSecond: limits.sendRefillPerSecond)
        var redisConfiguration = try switchboard.configuration.redisConfiguration()
        redisConfiguration.clientName = "switchboard-\(switchboard.configuration.nodeID)-pubsub"
        var loops: [ObjectIdentifier: LoopHub] = [:]
        var list: [LoopHub] = []
        for loop in eventLoopGroup.makeIterator() {
            let hub = LoopHub(eventLoop: loop, fanoutTimer: Metrics.Timer(label: Self.nodeFanoutLabel))
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
        self.postsChannel = switchboard.keys.postsChannel
        let box = HubReference()
        self.subscriber = RedisSubscriber(
            configuration: redisConfiguration, eventLoopGroup: subscriberLoop, logger: logger,
            masterLocator: switchboard.redis.masterLocator, clusterRouter: switchboard.redis.clusterRouter,
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

    /// The most bytes any local connection holds for its peer right now (tests, diagnostics).
    func maxBufferedBytes() async -> Int {
        var most = 0
        for hub in loopList {
            let part = (try? await hub.eventLoop.submit { hub.sessions.values.map(\.bufferedBytes).max() ?? 0 }.get()) ?? 0
            most = max(most, part)
        }
        return most
    }

    func startTimers() { forEachLoop { $0.startTimer() } }
    func stopTimers() { forEachLoop { $0.stopTimer() } }

    /// `SSUBSCRIBE` on Redis Cluster (the client's `--redis-cluster`, or a
    /// single-node cluster in `--redis-cluster-mode on`), where the scripts
    /// `SPUBLISH` (sharded pub/sub, in the slot of the channel's hash tag);
    /// `SUBSCRIBE` on one server.
    var kind: RedisSubscriptionKind {
        switchboard.configuration.isClusterMode || switchboard.redis.isCluster ? .shard : .channel
    }

    // MARK: Subscriptions

    /// Takes a reference on channels; subscribes those that were not yet, in
    /// one command. For a conversation subscribed anew, the hub first reads its
    /// seq: a message lost before the subscription took effect is then a gap
    /// the next message (or a subscriber reconnect) replays.
    func retain(_ channels: [String]) -> EventLoopFuture<Void> {
        let prefix = convPrefix
        let kind = self.kind
        let fresh = references.withLock { $0.retain(channels) }.filter { $0.hasPrefix(prefix) }
        guard !fresh.isEmpty else { return subscriber.subscribeFuture(channels, kind: kind) }
        let ids = fresh.map { Self.id(in: $0, prefix: prefix) }
        let keys = switchboard.keys
        let tracks = self.tracks
        let subscriber = self.subscriber
        return switchboard.redis.pipeline(ids.map { RedisCommand("HGET", [keys.conversation($0), "seq"]) })
            .flatMap { replies in
                tracks.eventLoop.submit {
                    for (id, reply) in zip(ids, replies) {
                        tracks.value[id, default: ConversationTrack()].start(at: reply.int ?? 0)
                    }
                }
            }
            .recover { _ in }
            .flatMap { subscriber.subscribeFuture(channels, kind: kind) }
    }

    /// Drops references; unsubscribes the channels nobody local needs any more.
    func release(_ channels: [String]) {
        let unused = references.withLock { $0.release(channels) }
        guard !unused.isEmpty else { return }
        subscriber.unsubscribe(unused, kind: kind)
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

    // MARK: Events from Redis

    /// One counter per event type, made once (a `Counter(label:dimensions:)` per event is a locked lookup).
    private let eventCounters: [String: Counter] = Dictionary(
        uniqueKeysWithValues: [
            "message", "message.edited", "message.deleted", "typing", "read", "conversation", "presence", "post", "reaction", "pin", "delivered",
        ]
        .map { ($0, Counter(label: "switchboard_events_total", dimensions: [("ev", $0)])) })

    private func handle(_ event: RedisPubSubEvent) {
        switch event {
        case .message(let channel, let payload, _):
            guard let decoded = PublishedEvent.decode(payload) else {
                logger.warning("unreadable pub/sub payload", metadata: ["channel": "\(channel)"])
                return
            }
            (eventCounters[decoded.event] ?? Counter(label: "switchboard_events_total", dimensions: [("ev", decoded.event)]))
                .increment()
            if channel.hasPrefix(convPrefix) {
                conversationEvent(Self.id(in: channel, prefix: convPrefix), decoded)
            } else if channel.hasPrefix(userPrefix) {
                userEvent(Self.id(in: channel, prefix: userPrefix), decoded)
            } else if channel == postsChannel {
                postEvent(decoded)
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
        let decision = track.receive(event, seq: event.seq)
        tracks.value[conversation] = track
        switch decision {
        case .deliver: broadcast(conversation, event)
        case .drop, .wait: break
        case .recover(let last): recover(conversation, after: last)
        }
    }

    private func broadcast(_ conversation: String, _ event: PublishedEvent) {
        let frame = event.frame
        let seq = event.seq
        let origin = event.origin
        let ts = event.ts
        let timer = fanoutTimer
        let clock = switchboard.clock
        let received = NIODeadline.now()
        if event.event == "message" { deliveredCounter.increment() }
        forEachLoop { hub in
            if hub.deliver(conversation: conversation, frame: frame, seq: seq, origin: origin, received: received) > 0, let ts {
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
        background.submit("replay of a pub/sub gap in \(conversation)") { [self] in
            // Redis may still be coming back: retry for a while (live events queue meanwhile).
            var fetched: (messages: [Message], complete: Bool)?
            for attempt in 0..<150 {
                fetched = try? await conversations.messages(after: last, in: conversation, limit: limit)
                if fetched != nil { break }
                try? await Task.sleep(nanoseconds: UInt64(min(1_000, 50 * (attempt + 1))) * 1_000_000)
            }
            let messages = fetched?.messages ?? []
            if fetched == nil { logger.warning("could not replay a pub/sub gap", metadata: ["conv": "\(conversation)"]) }
            tracks.eventLoop.execute { [self] in
                var track = tracks.value[conversation] ?? ConversationTrack(lastSeq: last)
                let (replay, live) = track.finishRecovery(after: last, streamSeqs: fetched.map { $0.messages.map(\.seq) })
                tracks.value[conversation] = track
                for index in replay {
                    let message = messages[index]
                    let frame = ServerFrame.text(#"{"ev":"message","message":"# + JSONText.encode(message) + "}")
                    broadcast(conversation, PublishedEvent(frame: frame, seq: message.seq, origin: nil, event: "message", object: [:]))
                    replayedCounter.increment()
                }
                for event in live { broadcast(conversation, event) }
            }
        }
    }

    /// After a subscriber reconnect: replay every tracked conversation's gap.
    private func recoverAll() {
        for conversation in tracks.value.keys {
            guard let last = tracks.value[conversation]?.reconnected() else { continue }
            recover(conversation, after: last)
        }
    }

    /// A read-time author's new post, published once for every node
    /// (`PostService.fanOut`): delivered to the local sessions of the
    /// author's followers, found with `ZMSCORE` of the followers zset over
    /// this node's users (1,000 a command). The cost follows the users
    /// connected here, not the author's followers.
    private func postEvent(_ event: PublishedEvent) {
        guard let author = (event.object["post"] as? [String: Any])?["author"] as? String else { return }
        let frame = event.frame
        let key = switchboard.keys.followers(author)
        let redis = switchboard.redis
        let logger = self.logger
        background.submit("live post of \(author)") { [self] in
            let users = Array(await localConnections().keys.filter { $0 != author })
            var followers: [String] = []
            var start = 0
            while start < users.count {
                let chunk = Array(users[start..<min(users.count, start + 1000)])
                start += chunk.count
                do {
                    let scores = try await redis.execute(RedisCommand("ZMSCORE", [key] + chunk)).array ?? []
                    for (user, score) in zip(chunk, scores) where !score.isNull { followers.append(user) }
                } catch {
                    logger.warning("live post: followers lookup failed", metadata: ["author": "\(author)", "error": "\(error)"])
                }
            }
            let found = followers
            guard !found.isEmpty else { return }
            forEachLoop { hub in
                for user in found { hub.deliver(user: user, frame: frame) }
            }
        }
    }

    private func userEvent(_ user: String, _ event: PublishedEvent) {
        if event.event == "disconnect" {
            // Server API (disconnect, ban): every socket of the user closes; nothing is forwarded.
            forEachLoop { hub in
                for session in hub.sessions(ofUser: user) {
                    session.close(code: .forbidden, reason: "disconnected by the server")
                }
            }
            return
        }
        let frame = event.frame
        var found: (String, String)?
        // The conversation's seq at the add: a joining session fills from the stream after it.
        var seqAtAdd = 0
        if event.event == "conversation", let kind = event.object["change"] as? String,
            let object = event.object["conversation"] as? [String: Any], let conversation = object["id"] as? String
        {
            found = (kind, conversation)
            seqAtAdd = (object["seq"] as? Int) ?? (object["seq"] as? NSNumber)?.intValue ?? 0
        }
        let fillAfter = seqAtAdd
        let change = found
        let channelOf = switchboard.keys.conversationChannel
        forEachLoop { [self] hub in
            var joining: [(WebSocketSession, EventLoopFuture<Void>)] = []
            for session in hub.sessions(ofUser: user) {
                if let (kind, conversation) = change {
                    if kind == "added" {
                        if let subscribed = session.joinConversation(conversation, channel: channelOf(conversation), hub: self) {
                            session.beginFill(conversation)
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
                let conversation = change?.1 ?? ""
                subscribed.hop(to: hub.eventLoop).whenComplete { _ in
                    bound.value.deliver(frame, conversation: nil, seq: nil)
                    bound.value.flushIfNeeded()
                    // Then what was sent between the add and the live subscription.
                    bound.value.fill(conversation, after: fillAfter)
                }
            }
        }
    }
}

/// Lets the subscriber's handler reach the hub built after it.
private final class HubReference: @unchecked Sendable {
    weak var hub: FanoutHub?
}
