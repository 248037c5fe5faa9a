import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RedisClient
import ServiceLifecycle
import SwitchboardCore
import SwitchboardServer
import Testing

/// A webhook receiver on a loopback port: answers 503 to the first
/// `failFirst` requests, then 204; records what it received.
final class WebhookReceiver: @unchecked Sendable {
    struct Delivery {
        var body: [UInt8]
        var id: String
        var signature: String
        var attempt: Int
        var status: Int
    }

    private let lock = NSLock()
    private var deliveries: [Delivery] = []
    let failFirst: Int
    private(set) var port = 0
    private var group: ServiceGroup?
    private var task: Task<Void, any Error>?

    init(failFirst: Int) { self.failFirst = failFirst }

    var url: String { "http://127.0.0.1:\(port)/hook" }

    func start() async throws {
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let header = { (name: String) in request.headers[HTTPField.Name(name)!] ?? "" }
            let status: Int = self.lock.withLock {
                let status = self.deliveries.count < self.failFirst ? 503 : 204
                self.deliveries.append(
                    Delivery(
                        body: Array(body.readableBytesView), id: header("X-Switchboard-Event-Id"),
                        signature: header("X-Switchboard-Signature"), attempt: Int(header("X-Switchboard-Delivery-Attempt")) ?? 0,
                        status: status))
                return status
            }
            return Response(status: .init(code: status))
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "webhook-receiver")
        logger.logLevel = .warning
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        self.group = group
        task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        port = await iterator.next() ?? 0
    }

    func stop() async {
        await group?.triggerGracefulShutdown()
        _ = try? await task?.value
    }

    var all: [Delivery] { lock.withLock { deliveries } }

    /// Waits (bounded) until `count` deliveries were answered 2xx.
    func waitForAccepted(_ count: Int, timeout: Double = 30) async throws -> [Delivery] {
        for _ in 0..<Int(timeout * 50) {
            let accepted = all.filter { $0.status < 300 }
            if accepted.count >= count { return accepted }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        return all.filter { $0.status < 300 }
    }
}

@Suite(
    "Webhooks", .serialized,
    .disabled(if: TestEnvironment.redisCluster, "compares delivery with the order of one stream; ClusterEventTests covers the per-slot streams"))
struct WebhookTests {
    static let secret = "webhook-secret-for-tests"

    /// What a receiver does: recompute the HMAC-SHA256 of the body with its secret and compare.
    static func verify(_ signature: String, secret: String, body: [UInt8]) -> Bool {
        let expected = "sha256=" + Base64.hex(Crypto.hmacSHA256(key: Array(secret.utf8), message: body))
        return Crypto.constantTimeEquals(Array(signature.utf8), Array(expected.utf8))
    }

    static func pair(_ receiver: WebhookReceiver, maxAttempts: Int = 10) async throws -> (TestNode, TestNode) {
        try await TestNode.pair {
            $0.webhook.url = receiver.url
            $0.webhook.secret = secret
            $0.webhook.maxAttempts = maxAttempts
            $0.webhook.initialBackoff = 0.02
            $0.webhook.maxBackoff = 0.1
            $0.webhook.leaseTTL = 2
        }
    }

    /// Waits (bounded) until the delivery group exists, so events from now on are delivered.
    static func waitForGroup(_ node: TestNode) async throws {
        for _ in 0..<500 {
            let groups = try? await node.redis.send("XINFO", "GROUPS", node.keys.events)
            if groups?.array?.isEmpty == false { return }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    @Test func aReceiverThatFailsFirstStillGetsEverythingInOrderAndSigned() async throws {
        let receiver = WebhookReceiver(failFirst: 4)
        try await receiver.start()
        let (a, b) = try await Self.pair(receiver)
        try await Self.waitForGroup(a)
        let alice = try await a.register()
        let bob = try await b.register()
        let conv = try await a.create(["kind": "direct", "with": bob.id], as: alice)["id"] as! String
        for index in 0..<10 {
            #expect(try await (index.isMultiple(of: 2) ? a : b).send(conv, "m\(index)", as: index.isMultiple(of: 3) ? bob : alice).status == 201)
        }
        let stream = try await a.events()
        #expect(stream.count == 13)
        let accepted = try await receiver.waitForAccepted(stream.count)
        // Every event once accepted, in stream order, and the first ones were retried.
        #expect(accepted.map(\.id) == stream.compactMap { $0["id"] as? String })
        #expect(receiver.all.filter { $0.status == 503 }.count == 4)
        // Retried: the attempt header counts the attempts of the node that
        // delivered it (5 when one node made them all; lower when, under load,
        // the lease moved to the other node between attempts, which starts again at 1).
        #expect((accepted.first?.attempt ?? 0) >= 2)
        for delivery in accepted {
            #expect(Self.verify(delivery.signature, secret: Self.secret, body: delivery.body))
            // A receiver holding the wrong secret detects the mismatch.
            #expect(!Self.verify(delivery.signature, secret: "not-the-secret", body: delivery.body))
            let event = try JSONSerialization.jsonObject(with: Data(delivery.body)) as? [String: Any]
            #expect(event?["type"] is String && event?["data"] is [String: Any])
        }
        let texts = accepted.compactMap { delivery -> String? in
            let event = try? JSONSerialization.jsonObject(with: Data(delivery.body)) as? [String: Any]
            return ((event?["data"] as? [String: Any])?["message"] as? [String: Any])?["text"] as? String
        }
        #expect(texts == (0..<10).map { "m\($0)" })
        #expect(try await a.redis.send("XLEN", a.keys.deadEvents).int == 0)

        // The delivering node stops: the other takes over and nothing is lost.
        let holder = try await a.redis.send("GET", a.keys.webhookLease).string
        let (leaving, staying) = holder == a.node.configuration.nodeID ? (a, b) : (b, a)
        await leaving.stop()
        #expect(try await staying.send(conv, "after", as: alice).status == 201)
        let all = try await receiver.waitForAccepted(stream.count + 1)
        #expect(all.count == stream.count + 1)
        #expect(try await staying.redis.send("GET", staying.keys.webhookLease).string == staying.node.configuration.nodeID)
        await staying.stop()
        await receiver.stop()
    }

    @Test func whatNeverSucceedsMovesToTheDeadLetterStream() async throws {
        let receiver = WebhookReceiver(failFirst: Int.max)
        try await receiver.start()
        let (a, b) = try await Self.pair(receiver, maxAttempts: 3)
        try await Self.waitForGroup(a)
        let alice = try await a.register()
        let bob = try await a.register()
        let stream = try await a.events()
        #expect(stream.count == 2)
        var dead: [[String: String]] = []
        for _ in 0..<1500 where dead.count < 2 {
            let reply = try await a.redis.send("XRANGE", a.keys.deadEvents, "-", "+")
            dead = (reply.array ?? []).compactMap { $0.array?.last?.stringPairs }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        #expect(dead.map { $0["id"] } == stream.map { $0["id"] as? String })
        #expect(dead.allSatisfy { $0["attempts"] == "3" && $0["error"] == "HTTP 503" })
        #expect(receiver.all.count == 6)
        let pending = try await a.redis.send("XPENDING", a.keys.events, "webhooks")
        #expect(pending.array?.first?.int == 0)
        _ = (alice, bob)
        await a.stop()
        await b.stop()
        await receiver.stop()
    }
}
