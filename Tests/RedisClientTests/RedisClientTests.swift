import Foundation
import NIOCore
import NIOPosix
import RedisClient
import SwitchboardTestSupport
import Testing

@Suite("Redis client against a real redis-server")
struct RedisClientTests {
    @Test func everyReplyType() async throws {
        let redis = try TestRedis.client()
        let p = TestRedis.prefix()
        #expect(try await redis.send("PING") == .status("PONG"))
        #expect(try await redis.send("SET", p + "s", "hello") == .status("OK"))
        #expect(try await redis.send("GET", p + "s") == .bulk(Array("hello".utf8)))
        #expect(try await redis.send("INCRBY", p + "n", 42) == .integer(42))
        #expect(try await redis.send("GET", p + "missing") == .null)
        try await redis.send("RPUSH", p + "l", "a", "b")
        let nested = try await redis.send("EVAL", "return {1, 'two', {3, {'four'}}, false}", 0)
        #expect(nested == .array([.integer(1), .bulk(Array("two".utf8)), .array([.integer(3), .array([.bulk(Array("four".utf8))])]), .null]))
        #expect(try await redis.send("LRANGE", p + "l", 0, -1).array?.compactMap(\.string) == ["a", "b"])
        // An error reply keeps Redis' own text.
        await #expect(throws: RedisError.server("WRONGTYPE Operation against a key holding the wrong kind of value")) {
            try await redis.send("INCR", p + "l")
        }
        // Error replies inside a pipeline stay inline and do not disturb the others.
        let replies = try await redis.pipeline([
            RedisCommand("GET", [p + "s"]), RedisCommand("INCR", [p + "l"]), RedisCommand("GET", [p + "n"]),
        ])
        #expect(replies[0].string == "hello")
        #expect(replies[1].errorMessage?.hasPrefix("WRONGTYPE") == true)
        #expect(replies[2].int == 42)
        await redis.shutdown()
    }

    @Test func binarySafeAndLargeValues() async throws {
        let redis = try TestRedis.client()
        let p = TestRedis.prefix()
        let tricky: [UInt8] = Array("line\r\nnext".utf8) + [0, 255, 13, 10, 0] + Array("$3\r\n*1".utf8)
        try await redis.send("SET", p + "bin", tricky)
        #expect(try await redis.send("GET", p + "bin").bytes == tricky)
        let big = (0..<(4 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await redis.send("SET", p + "big", big)
        #expect(try await redis.send("STRLEN", p + "big").int == big.count)
        #expect(try await redis.send("GET", p + "big").bytes == big)
        await redis.shutdown()
    }

    @Test func tenThousandPipelinedCommandsInOrder() async throws {
        let redis = try TestRedis.client(poolSize: 1)
        let p = TestRedis.prefix()
        let connection = try await redis.connection().get()
        // Ten thousand separate sends, all in flight at once on one connection.
        let futures = (0..<10_000).map { _ in connection.send(RedisCommand("INCR", [p + "counter"])) }
        var expected: Int64 = 1
        for future in futures {
            #expect(try await future.get() == .integer(expected))
            expected += 1
        }
        // And the explicit batch API: one write.
        let batch = (0..<10_000).map { RedisCommand("ECHO", ["v\($0)"]) }
        let replies = try await redis.pipeline(batch)
        #expect(replies.count == 10_000)
        #expect(replies.enumerated().allSatisfy { $0.element.string == "v\($0.offset)" })
        await redis.shutdown()
    }

    /// A request made on an event loop of the pool's group takes a
    /// connection of that loop: its reply completes there, no thread hop.
    @Test func aRequestFromAnEventLoopStaysOnIt() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        var configuration = try RedisConfiguration(url: TestRedis.url)
        configuration.poolSize = 4
        let redis = RedisClient(configuration: configuration, eventLoopGroup: group)
        for loop in group.makeIterator() {
            for _ in 0..<4 {
                let stayed = try await loop.flatSubmit {
                    redis.send(RedisCommand("PING")).map { _ in loop.inEventLoop }
                }.get()
                #expect(stayed)
            }
        }
        // From a task (no event loop): round robin over the whole pool, still answered.
        for _ in 0..<4 { #expect(try await redis.send("PING") == .status("PONG")) }
        await redis.shutdown()
        try await group.shutdownGracefully()
    }

    @Test func hundredConcurrentCallers() async throws {
        let redis = try TestRedis.client(poolSize: 3)
        let p = TestRedis.prefix()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<100 {
                group.addTask {
                    for round in 0..<20 {
                        let key = "\(p)c\(caller)"
                        try await redis.send("RPUSH", key, round)
                    }
                    let values = try await redis.send("LRANGE", "\(p)c\(caller)", 0, -1).array?.compactMap(\.int)
                    #expect(values == Array(0..<20))
                }
            }
            try await group.waitForAll()
        }
        await redis.shutdown()
    }

    @Test func unixSocketAndDatabaseSelection() async throws {
        let server = try TestRedisServer()
        try await server.start()
        var configuration = try RedisConfiguration(url: "unix://\(server.socketPath)?db=2")
        configuration.poolSize = 1
        let redis = RedisClient(configuration: configuration)
        try await redis.send("SET", "k", "in db 2")
        var single = try RedisConfiguration(url: server.url)
        single.poolSize = 1
        let other = RedisClient(configuration: single)
        #expect(try await other.send("GET", "k") == .null)
        try await other.send("SELECT", 2)
        #expect(try await other.send("GET", "k").string == "in db 2")
        await redis.shutdown()
        await other.shutdown()
    }

    @Test func authenticationFailureIsAClearError() async throws {
        var configuration = try TestRedis.configuration()
        configuration.password = "wrong-password"
        let redis = RedisClient(configuration: configuration)
        await #expect {
            try await redis.send("PING")
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return error.code == .connectionFailed && error.message.contains("AUTH")
        }
        await redis.shutdown()
    }

    @Test func unreachableServerFailsFast() async throws {
        var configuration = RedisConfiguration()
        configuration.address = .tcp(host: "127.0.0.1", port: try LoopbackPort.free())
        let redis = RedisClient(configuration: configuration)
        for _ in 0..<3 {
            await #expect {
                try await redis.send("PING")
            } throws: { error in
                (error as? RedisError)?.code == .connectionFailed
            }
        }
        await redis.shutdown()
        await #expect(throws: RedisError.self) { try await redis.send("PING") }
    }

    @Test func requestTimeoutFailsAndClosesConnection() async throws {
        let server = try TestRedisServer()
        try await server.start()
        var configuration = try RedisConfiguration(url: server.url)
        configuration.poolSize = 1
        configuration.requestTimeout = .milliseconds(300)
        let redis = RedisClient(configuration: configuration)
        await #expect {
            try await redis.send("DEBUG", "SLEEP", 2)
        } throws: { error in
            (error as? RedisError)?.code == .timeout
        }
        try await Task.sleep(nanoseconds: 2_000_000_000)
        #expect(try await redis.send("PING") == .status("PONG"))
        await redis.shutdown()
    }
}
