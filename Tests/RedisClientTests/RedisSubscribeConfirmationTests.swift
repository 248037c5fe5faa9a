import Foundation
import NIOCore
import RedisClient
import SwitchboardTestSupport
import Testing

/// `subscribe` returns only once Redis confirmed the subscription, also
/// while the subscriber's connection is still coming up: a message published
/// right after it returns is delivered.
@Suite("Redis subscribe confirmation")
struct RedisSubscribeConfirmationTests {
    @Test func subscribeBeforeTheConnectionIsUpWaitsForTheConfirmation() async throws {
        let configuration = try TestRedis.configuration()
        let subscriber = RedisSubscriber(configuration: configuration)
        let recorder = EventRecorder(subscriber)
        let channel = TestRedis.prefix() + "confirm"
        // Subscribe first, connect afterwards: the call must wait for the connection.
        let subscribing = Task { try await subscriber.subscribe([channel]) }
        try await Task.sleep(nanoseconds: 50_000_000)
        let running = Task { try await subscriber.run() }
        try await subscribing.value
        let redis = try TestRedis.client()
        #expect(try await redis.send("PUBLISH", channel, "first").int == 1)
        #expect(await recorder.next(where: isMessage(channel, "first")) != nil)
        subscriber.stop()
        try await running.value
        await redis.shutdown()
    }

    @Test func subscribeRightAfterStartIsConfirmed() async throws {
        let configuration = try TestRedis.configuration()
        let subscriber = RedisSubscriber(configuration: configuration)
        let running = Task { try await subscriber.run() }
        let channel = TestRedis.prefix() + "confirm"
        try await subscriber.subscribe([channel])
        let redis = try TestRedis.client()
        #expect(try await redis.send("PUBLISH", channel, "first").int == 1)
        subscriber.stop()
        try await running.value
        await redis.shutdown()
    }

    @Test func subscribeWithoutRedisFailsInBoundedTime() async throws {
        var configuration = RedisConfiguration()
        configuration.address = .tcp(host: "127.0.0.1", port: try LoopbackPort.free())
        configuration.connectTimeout = .milliseconds(200)
        configuration.requestTimeout = .milliseconds(300)
        let subscriber = RedisSubscriber(configuration: configuration)
        let running = Task { try await subscriber.run() }
        await #expect {
            try await subscriber.subscribe(["nowhere"])
        } throws: { error in
            (error as? RedisError)?.code == .connectionFailed
        }
        #expect(subscriber.subscriptions() == ["nowhere"])
        subscriber.stop()
        try await running.value
    }
}
