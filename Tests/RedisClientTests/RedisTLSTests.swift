import Foundation
import NIOCore
import NIOPosix
import RedisClient
import SwitchboardTestSupport
import Testing

/// TLS against a real redis-server listening with `--tls-port` only, with a CA
/// and certificates made by the `openssl` CLI for the occasion.
@Suite("Redis over TLS", .serialized)
struct RedisTLSTests {
    func server(authClients: String = "optional", namedCertificate: Bool = false) async throws -> TestRedisServer {
        let server = try TestRedisServer(
            tls: .init(certificates: try await TestCertificates.shared(), authClients: authClients, namedCertificate: namedCertificate))
        try await server.start()
        return server
    }

    func configuration(_ server: TestRedisServer, ca: String? = nil, clientCertificate: Bool = false) async throws -> RedisConfiguration {
        let certificates = try await TestCertificates.shared()
        var configuration = try RedisConfiguration(url: server.url)
        configuration.tls?.caFile = ca ?? certificates.caFile
        if clientCertificate {
            configuration.tls?.certificateFile = certificates.clientCertificateFile
            configuration.tls?.keyFile = certificates.clientKeyFile
        }
        return configuration
    }

    /// The error of a connection attempt.
    func connectionError(_ configuration: RedisConfiguration) async -> RedisError? {
        do {
            let connection = try await RedisConnection.connect(configuration: configuration, on: MultiThreadedEventLoopGroup.singleton.next()).get()
            _ = try? await connection.close().get()
            return nil
        } catch {
            return error as? RedisError
        }
    }

    @Test func commandsAndPubSubWorkOverTLS() async throws {
        let server = try await server()
        let configuration = try await configuration(server)
        #expect(configuration.tls != nil)
        let redis = RedisClient(configuration: configuration)
        try await redis.send("SET", "tls:key", "secret")
        #expect(try await redis.send("GET", "tls:key").string == "secret")
        let replies = try await redis.pipeline((0..<100).map { RedisCommand("INCR", ["tls:n\($0 % 3)"]) })
        #expect(replies.count == 100)
        let subscriber = RedisSubscriber(configuration: configuration)
        let recorder = EventRecorder(subscriber)
        let running = Task { try await subscriber.run() }
        try await Task.sleep(nanoseconds: 100_000_000)
        try await subscriber.subscribe(["tls:channel"])
        // Published until it arrives (bounded): the subscription may become active just after `subscribe` returns.
        let publisher = Task {
            for _ in 0..<60 where !Task.isCancelled {
                _ = try? await redis.send("PUBLISH", "tls:channel", "over tls")
                try? await Task.sleep(nanoseconds: 250_000_000)
            }
        }
        let event = await recorder.next(within: 20, where: isMessage("tls:channel", "over tls"))
        publisher.cancel()
        #expect(event != nil)
        subscriber.stop()
        try await running.value
        await redis.shutdown()
        await server.stop()
    }

    @Test func wrongCAFailsWithAClearError() async throws {
        let server = try await server()
        let error = await connectionError(try await configuration(server, ca: try await TestCertificates.shared().otherCAFile))
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("not signed by a trusted CA") == true, "\(String(describing: error))")
        #expect(error?.message.contains("--redis-ca-file") == true)
        // The pool reports the same cause to its callers, and does not hang.
        let redis = RedisClient(configuration: try await configuration(server, ca: try await TestCertificates.shared().otherCAFile))
        await #expect(throws: RedisError.self) { try await redis.send("PING") }
        await redis.shutdown()
        await server.stop()
    }

    /// A certificate for `redis.test` only, reached at 127.0.0.1: the name to
    /// check comes from `--redis-tls-server-name`.
    @Test func serverNameIsChecked() async throws {
        let server = try await server(namedCertificate: true)
        var configuration = try await configuration(server)
        let noName = await connectionError(configuration)
        #expect(noName?.message.contains("--redis-tls-server-name") == true, "\(String(describing: noName))")
        configuration.tls?.serverName = "redis.example.org"
        let wrongName = await connectionError(configuration)
        #expect(wrongName?.message.contains("--redis-tls-server-name") == true, "\(String(describing: wrongName))")
        configuration.tls?.serverName = "redis.test"
        #expect(await connectionError(configuration) == nil)
        await server.stop()
    }

    @Test func clientCertificateWhenTheServerRequiresOne() async throws {
        let server = try await server(authClients: "yes")
        let refused = await connectionError(try await configuration(server))
        #expect(refused?.message.contains("refused this client's certificate") == true, "\(String(describing: refused))")
        let redis = RedisClient(configuration: try await configuration(server, clientCertificate: true))
        #expect(try await redis.send("PING").string == "PONG")
        await redis.shutdown()
        await server.stop()
    }

    @Test func unreadableFilesAreAConfigurationError() throws {
        let missing = RedisTLSConfiguration(caFile: "/nonexistent/ca.crt")
        #expect(throws: RedisError.self) { try missing.makeContext() }
        do {
            _ = try missing.makeContext()
        } catch {
            #expect(error.code == .tlsConfiguration)
            #expect(error.message.contains("/nonexistent/ca.crt"))
        }
        let halfPair = RedisTLSConfiguration(certificateFile: "/x.crt")
        #expect(throws: RedisError.self) { try halfPair.makeContext() }
    }

    @Test func parsesRedissURLs() throws {
        let configuration = try RedisConfiguration(url: "rediss://:pw@redis.example.org:6380/2")
        #expect(configuration.tls == RedisTLSConfiguration())
        #expect(configuration.address == .tcp(host: "redis.example.org", port: 6380))
        #expect(configuration.password == "pw")
        #expect(configuration.database == 2)
        #expect(try RedisConfiguration(url: "redis://127.0.0.1").tls == nil)
    }
}
