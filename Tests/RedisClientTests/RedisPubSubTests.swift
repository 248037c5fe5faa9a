import Foundation
import NIOCore
import RedisClient
import SwitchboardTestSupport
import Testing

/// Collects a subscriber's events for assertions.
final class EventRecorder: Sendable {
    private let stream: AsyncStream<RedisPubSubEvent>
    init(_ subscriber: RedisSubscriber) { stream = subscriber.events }

    /// Waits for the first event matching `predicate`, failing after `seconds`.
    func next(within seconds: Double = 10, where predicate: @escaping @Sendable (RedisPubSubEvent) -> Bool) async -> RedisPubSubEvent? {
        await withTaskGroup(of: RedisPubSubEvent?.self) { group in
            group.addTask {
                for await event in self.stream where predicate(event) { return event }
                return nil
            }
            group.addTask {
                try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}

func isMessage(_ channel: String, _ text: String) -> @Sendable (RedisPubSubEvent) -> Bool {
    { event in
        if case .message(channel, let payload, _) = event { return payload == Array(text.utf8) }
        return false
    }
}

@Suite("Redis pub/sub and scripts")
struct RedisPubSubTests {
    @Test func deliveryAndUnsubscribe() async throws {
        let configuration = try TestRedis.configuration()
        let subscriber = RedisSubscriber(configuration: configuration)
        let recorder = EventRecorder(subscriber)
        let running = Task { try await subscriber.run() }
        let redis = try TestRedis.client()
        let p = TestRedis.prefix()
        _ = await recorder.next { $0 == .connected(gap: false) }
        try await subscriber.subscribe([p + "a", p + "b"])
        #expect(try await redis.send("PUBLISH", p + "a", "one").int == 1)
        #expect(await recorder.next(where: isMessage(p + "a", "one")) != nil)
        try await redis.send("PUBLISH", p + "b", "two")
        #expect(await recorder.next(where: isMessage(p + "b", "two")) != nil)
        subscriber.unsubscribe([p + "a"])
        // Unsubscribing is confirmed once Redis counts no subscriber on the channel.
        var receivers = 1
        for _ in 0..<100 where receivers != 0 {
            receivers = try await redis.send("PUBLISH", p + "a", "gone").int ?? -1
            if receivers != 0 { try await Task.sleep(nanoseconds: 20_000_000) }
        }
        #expect(receivers == 0)
        #expect(subscriber.subscriptions() == [p + "b"])
        subscriber.stop()
        try await running.value
        await redis.shutdown()
    }

    @Test func shardedSubscribeOnStandalone() async throws {
        let subscriber = RedisSubscriber(configuration: try TestRedis.configuration())
        let recorder = EventRecorder(subscriber)
        let running = Task { try await subscriber.run() }
        let redis = try TestRedis.client()
        let channel = TestRedis.prefix() + "live:conv:{c1}"
        _ = await recorder.next { $0 == .connected(gap: false) }
        try await subscriber.subscribe([channel], kind: .shard)
        #expect(try await redis.send("SPUBLISH", channel, "hello").int == 1)
        let event = await recorder.next(where: isMessage(channel, "hello"))
        #expect(event == .message(channel: channel, payload: Array("hello".utf8), sharded: true))
        subscriber.stop()
        try await running.value
        await redis.shutdown()
    }

    @Test func patternSubscribe() async throws {
        let subscriber = RedisSubscriber(configuration: try TestRedis.configuration())
        let recorder = EventRecorder(subscriber)
        let running = Task { try await subscriber.run() }
        let redis = try TestRedis.client()
        let p = TestRedis.prefix()
        _ = await recorder.next { $0 == .connected(gap: false) }
        try await subscriber.subscribe([p + "user:*"], kind: .pattern)
        try await redis.send("PUBLISH", p + "user:42", "hi")
        let event = await recorder.next { if case .patternMessage = $0 { return true } else { return false } }
        #expect(event == .patternMessage(pattern: p + "user:*", channel: p + "user:42", payload: Array("hi".utf8)))
        subscriber.stop()
        try await running.value
        await redis.shutdown()
    }

    @Test func scriptsReloadAfterFlush() async throws {
        let server = try TestRedisServer()
        try await server.start()
        let redis = RedisClient(configuration: try RedisConfiguration(url: server.url))
        let registry = RedisScriptRegistry(
            client: redis,
            scripts: [RedisScript(name: "incr_by", source: "return redis.call('INCRBY', KEYS[1], ARGV[1])")]
        )
        try await registry.loadAll()
        #expect(try await registry.allLoaded())
        #expect(try await registry.evaluate("incr_by", keys: ["n"], arguments: [5]) == .integer(5))
        try await redis.send("SCRIPT", "FLUSH")
        #expect(try await registry.allLoaded() == false)
        // NOSCRIPT → SCRIPT LOAD → EVALSHA again, transparently.
        #expect(try await registry.evaluate("incr_by", keys: ["n"], arguments: [2]) == .integer(7))
        #expect(try await registry.allLoaded())
        // A script's error reply reaches the caller as a RedisError with the script's text.
        let failing = RedisScriptRegistry(
            client: redis, scripts: [RedisScript(name: "refuse", source: "return redis.error_reply('NOT_MEMBER no')")])
        try await failing.loadAll()
        await #expect(throws: RedisError.server("NOT_MEMBER no")) {
            try await failing.evaluate("refuse", keys: [], arguments: [])
        }
        await redis.shutdown()
    }

    @Test func scriptsLoadFromTheLuaFolder() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let scripts = try RedisScript.load(directory: root.path + "/lua")
        #expect(scripts.contains { $0.name == "send" })
        #expect(scripts.allSatisfy { $0.source.contains("KEYS") })
    }

    @Test func redisKilledAndRestarted() async throws {
        let server = try TestRedisServer()
        try await server.start()
        var configuration = try RedisConfiguration(url: server.url)
        configuration.poolSize = 1
        configuration.backoff.initial = .milliseconds(20)
        configuration.backoff.maximum = .milliseconds(200)
        let redis = RedisClient(configuration: configuration)
        let subscriber = RedisSubscriber(configuration: configuration, healthCheckInterval: .milliseconds(200))
        let recorder = EventRecorder(subscriber)
        let running = Task { try await subscriber.run() }
        _ = await recorder.next { $0 == .connected(gap: false) }
        try await subscriber.subscribe(["news"])
        #expect(try await redis.send("PING") == .status("PONG"))

        // A request in flight when Redis dies fails with the connection error, at once.
        let inFlight = redis.send(RedisCommand("DEBUG", ["SLEEP", 5]))
        try await Task.sleep(nanoseconds: 100_000_000)
        server.kill()
        await #expect {
            try await inFlight.get()
        } throws: { error in
            (error as? RedisError)?.code == .connectionClosed
        }
        // While it is down, requests fail fast instead of hanging.
        await #expect(throws: RedisError.self) { try await redis.send("PING") }

        try await server.start()
        var answered = false
        for _ in 0..<100 where !answered {
            answered = (try? await redis.send("PING")) == .status("PONG")
            if !answered { try await Task.sleep(nanoseconds: 50_000_000) }
        }
        #expect(answered)
        // The subscriber reports the gap and its subscription is back.
        #expect(await recorder.next { $0 == .connected(gap: true) } != nil)
        try await redis.send("PUBLISH", "news", "after restart")
        #expect(await recorder.next(where: isMessage("news", "after restart")) != nil)
        subscriber.stop()
        try await running.value
        await redis.shutdown()
    }
}
