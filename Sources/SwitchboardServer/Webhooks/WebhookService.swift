import AsyncHTTPClient
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import RedisClient
import ServiceLifecycle
import SwitchboardCore

/// Delivers every event of the stream to the configured URL as an HTTP POST.
/// On Redis Cluster, of every per-slot stream (`EventStream`), in order per stream.
///
/// The nodes share one consumer group (`webhooks`) and a lease: the node
/// holding the lease delivers, one event at a time in stream order (so in
/// order per conversation); the others wait to take over. An event is
/// acknowledged only after a 2xx answer, so a node that dies mid-delivery
/// leaves it pending and the next lease holder claims it (`XAUTOCLAIM`): at
/// least once. A failure is retried with exponential backoff and jitter,
/// holding back later events; after `maxAttempts` the event moves to
/// `<prefix>events:dead` and `switchboard_webhook_dead_total` counts it.
final class WebhookService: Service {
    let switchboard: Switchboard
    let configuration: WebhookConfiguration
    let url: String
    let owner: String
    let logger: Logger
    let backoff: WebhookBackoff
    let delivered = Counter(label: "switchboard_webhook_deliveries_total", dimensions: [("result", "ok")])
    let failed = Counter(label: "switchboard_webhook_deliveries_total", dimensions: [("result", "failed")])
    let dead = Counter(label: "switchboard_webhook_dead_total")

    init(switchboard: Switchboard, url: String, logger: Logger) {
        self.switchboard = switchboard
        self.configuration = switchboard.configuration.webhook
        self.url = url
        self.owner = switchboard.configuration.nodeID
        self.logger = logger
        self.backoff = WebhookBackoff(initial: configuration.initialBackoff, maximum: configuration.maxBackoff)
    }

    private var keys: KeyLayout { switchboard.keys }
    private var leaseMilliseconds: Int { max(100, Int(configuration.leaseTTL * 1000)) }

    func run() async throws {
        // Blocking reads hold a connection: one of its own.
        var redisConfiguration = switchboard.redis.configuration
        redisConfiguration.poolSize = 1
        redisConfiguration.clientName = "switchboard-\(owner)-webhooks"
        let redis = RedisClient(configuration: redisConfiguration, logger: logger)
        let locator = EventStreamLocator(redis: redis, keys: keys, perSlot: switchboard.events.perSlot)
        await cancelWhenGracefulShutdown {
            if locator.perSlot {
                await self.deliverPerSlot(redis: redis, locator: locator)
            } else {
                await self.deliverOneStream(redis: redis)
            }
        }
        _ = try? await switchboard.scripts.evaluate("release_claim", keys: [keys.webhookLease], arguments: [owner])
        await redis.shutdown()
    }

    /// One Redis: `sb:events`, blocking reads of the group.
    private func deliverOneStream(redis: RedisClient) async {
        let reader = EventReader(redis: redis, stream: keys.events)
        var groupReady = false
        while !Task.isCancelled {
            do {
                guard try await holdLease() else {
                    try await Task.sleep(nanoseconds: UInt64(leaseMilliseconds) * 1_000_000 / 3)
                    continue
                }
                if !groupReady {
                    try await reader.createGroup(configuration.group, start: "$")
                    groupReady = true
                }
                // What an earlier holder read but did not finish comes first, in stream order.
                var entries = try await reader.claim(group: configuration.group, consumer: owner, minIdleMilliseconds: 0, count: 20)
                if entries.isEmpty {
                    entries = try await reader.read(group: configuration.group, consumer: owner, count: 20, blockMilliseconds: 1000)
                }
                for entry in entries {
                    guard try await deliver(entry, reader: reader) else { break }
                }
            } catch is CancellationError {
                break
            } catch {
                logger.warning("webhook delivery loop failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(nanoseconds: 1_000_000_000)
            }
        }
    }

    /// Redis Cluster: one stream per slot (`EventStream`). The lease holder
    /// finds the streams every few seconds, gives each the group (starting
    /// where webhooks first started in this deployment, so a stream found
    /// late loses nothing), and reads them in turn without blocking: in
    /// order per stream, so per conversation.
    private func deliverPerSlot(redis: RedisClient, locator: EventStreamLocator) async {
        var readers: [EventReader] = []
        var known: Set<String> = []
        var discovered: ContinuousClock.Instant?
        while !Task.isCancelled {
            do {
                guard try await holdLease() else {
                    discovered = nil  // another node delivers: look again when the lease comes back
                    try await Task.sleep(nanoseconds: UInt64(leaseMilliseconds) * 1_000_000 / 3)
                    continue
                }
                if discovered.map({ ContinuousClock.now - $0 > .seconds(2) }) ?? true {
                    let start = try await since(redis)
                    for stream in try await locator.streams() where !known.contains(stream) {
                        let reader = EventReader(redis: redis, stream: stream)
                        try await reader.createGroup(configuration.group, start: start)
                        readers.append(reader)
                        known.insert(stream)
                    }
                    discovered = .now
                }
                var found = false
                streams: for reader in readers {
                    var entries = try await reader.claim(group: configuration.group, consumer: owner, minIdleMilliseconds: 0, count: 20)
                    if entries.isEmpty {
                        entries = try await reader.read(group: configuration.group, consumer: owner, count: 20)
                    }
                    found = found || !entries.isEmpty
                    for entry in entries {
                        guard try await deliver(entry, reader: reader) else { break streams }
                    }
                }
                if !found { try await Task.sleep(nanoseconds: 100_000_000) }
            } catch is CancellationError {
                break
            } catch {
                logger.warning("webhook delivery loop failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(nanoseconds: 1_000_000_000)
            }
        }
    }

    /// The stream id from which webhooks deliver on a cluster: Redis' time
    /// when a node first delivered webhooks here (`sb:events:webhook-since`,
    /// kept). A per-slot stream gets the group at this id whenever it is
    /// found, so nothing appended since is skipped and nothing older is sent.
    private func since(_ redis: RedisClient) async throws -> String {
        let time = try await redis.send("TIME").array ?? []
        let now = "\((Int(time.first?.string ?? "") ?? 0) * 1000 + (Int(time.dropFirst().first?.string ?? "") ?? 0) / 1000)-0"
        _ = try await redis.send("SET", keys.webhookSince, now, "NX")
        return try await redis.send("GET", keys.webhookSince).string ?? now
    }

    /// Takes or renews the lease; false while another node holds it.
    func holdLease() async throws -> Bool {
        try await switchboard.scripts.evaluate("lease", keys: [keys.webhookLease], arguments: [owner, leaseMilliseconds]).int == 1
    }

    /// Delivers one event until it succeeds or goes dead. Answers false when
    /// this node should stop (lease lost or shutting down): the event stays pending.
    func deliver(_ entry: EventEntry, reader: EventReader) async throws -> Bool {
        var lastError = ""
        for attempt in 1...max(1, configuration.maxAttempts) {
            if Task.isCancelled { return false }
            do {
                let status = try await post(entry, attempt: attempt)
                if (200..<300).contains(status) {
                    try await reader.acknowledge(group: configuration.group, ids: [entry.id])
                    delivered.increment()
                    return true
                }
                lastError = "HTTP \(status)"
            } catch {
                lastError = "\(error)"
            }
            failed.increment()
            if attempt == configuration.maxAttempts { break }
            let delay = backoff.delay(afterAttempt: attempt, random: Double.random(in: 0...1))
            try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            guard try await holdLease() else { return false }
        }
        logger.error(
            "webhook gave up on an event; moved to the dead-letter stream",
            metadata: ["event": "\(entry.id)", "attempts": "\(configuration.maxAttempts)", "error": "\(lastError)"])
        let replies = try await switchboard.redis.pipeline([
            RedisCommand(
                "XADD",
                [
                    keys.deadEvents, "*", "id", entry.id, "event", entry.json, "attempts", configuration.maxAttempts, "error", lastError,
                ]),
            RedisCommand("XACK", [reader.stream, configuration.group, entry.id]),
        ]).get()
        if let error = replies.first(where: { $0.errorMessage != nil })?.errorMessage { throw RedisError.server(error) }
        dead.increment()
        return true
    }

    /// One POST of the event; answers the HTTP status.
    func post(_ entry: EventEntry, attempt: Int) async throws -> Int {
        let body = Array(entry.json.utf8)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "switchboard-webhooks")
        request.headers.add(name: "X-Switchboard-Event-Id", value: entry.id)
        request.headers.add(name: "X-Switchboard-Delivery-Attempt", value: String(attempt))
        request.headers.add(name: "X-Switchboard-Signature", value: WebhookSignature.header(secret: configuration.secret, body: body))
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(configuration.timeout * 1000)))
        _ = try? await response.body.collect(upTo: 64 * 1024)
        return Int(response.status.code)
    }
}
