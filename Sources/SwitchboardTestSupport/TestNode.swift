import Foundation
import Logging
import RedisClient
import ServiceLifecycle
import SwitchboardCore
import SwitchboardServer

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A node running in the test process on a free loopback port, against the
/// test Redis, with its own key prefix.
public final class TestNode: Sendable {
    public let node: SwitchboardNode
    public let port: Int
    let group: ServiceGroup
    let task: Task<Void, any Error>

    public static var redisURL: String { TestEnvironment.redisURL }

    /// A configuration for tests: fast scrypt, generous limits, a fresh prefix.
    public static func configuration(prefix: String? = nil) -> SwitchboardConfiguration {
        var configuration = SwitchboardConfiguration()
        configuration.port = 0
        configuration.redisURL = redisURL
        configuration.prefix = prefix ?? "t\(RandomID.make(length: 6)):"
        configuration.redisPoolSize = 2
        configuration.auth.scryptN = 1 << 10
        configuration.limits.loginPerMinute = 10_000
        configuration.limits.registrationsPerMinute = 10_000
        // (Throttles get their own tests, with their defaults or lower.)
        configuration.limits.editsPerMinute = 10_000
        configuration.limits.typingPerMinute = 10_000
        configuration.limits.statusPerMinute = 10_000
        configuration.limits.membershipChangesPerMinute = 10_000
        configuration.limits.conversationsPerMinute = 10_000
        if let seeds = TestEnvironment.redisClusterSeeds {
            // A three-master Redis Cluster, through the cluster client.
            configuration.redisURL = "redis://"
            configuration.redisClusterSeeds = [seeds]
        } else if TestEnvironment.redisCluster {
            // A single-node Redis Cluster: sharded pub/sub, one event stream per slot.
            configuration.redisClusterMode = true
        }
        return configuration
    }

    private init(node: SwitchboardNode, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.node = node
        self.port = port
        self.group = group
        self.task = task
    }

    public static func start(_ configuration: SwitchboardConfiguration = configuration()) async throws -> TestNode {
        var logger = Logger(label: "test-node")
        logger.logLevel = .warning
        let node = try SwitchboardNode(configuration: configuration, logger: logger)
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let services = node.services { port in portContinuation.yield(port) }
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        let task = Task { try await group.run() }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw SwitchboardError(.internalError, "node did not start") }
        return TestNode(node: node, port: port, group: group, task: task)
    }

    public var switchboard: Switchboard { node.switchboard }
    public var keys: KeyLayout { node.switchboard.keys }
    public var redis: RedisClient { node.switchboard.redis }
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    // MARK: HTTP

    public struct HTTPResult: @unchecked Sendable {
        public var status: Int
        public var body: Data
        public var headers: [String: String]

        /// The body as a JSON object ([:] when not an object).
        public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        /// `error.code` of an error body.
        public var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public func request(
        _ method: String, _ path: String, json: Any? = nil, rawBody: Data? = nil, token: String? = nil,
        headers: [String: String] = [:]
    ) async throws -> HTTPResult {
        var request = URLRequest(url: URL(string: baseURL + path)!)
        request.httpMethod = method
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let rawBody { request.httpBody = rawBody }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var headerMap: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            headerMap[String(describing: name).lowercased()] = String(describing: value)
        }
        return HTTPResult(status: http.statusCode, body: data, headers: headerMap)
    }

    /// A registered user with tokens.
    public struct Account: Sendable {
        public var id: String
        public var username: String
        public var accessToken: String
        public var refreshToken: String

        public init(id: String, username: String, accessToken: String, refreshToken: String) {
            self.id = id
            self.username = username
            self.accessToken = accessToken
            self.refreshToken = refreshToken
        }
    }

    public func register(_ username: String? = nil, password: String = "correct horse") async throws -> Account {
        let name = username ?? "u\(RandomID.make(length: 10))"
        let result = try await request("POST", "/api/v1/auth/register", json: ["username": name, "password": password])
        guard result.status == 201 else { throw TestSupportError("register \(name): \(result.status) \(result.text)") }
        let user = result.json["user"] as? [String: Any] ?? [:]
        return Account(
            id: user["id"] as? String ?? "", username: name, accessToken: result.json["accessToken"] as? String ?? "",
            refreshToken: result.json["refreshToken"] as? String ?? "")
    }
}

extension TestNode {
    /// `KEYS pattern` on every master (one Redis: on it), for checks of what Redis holds.
    public func keys(matching pattern: String) async throws -> [String] {
        try await redis.sendToEveryMaster(RedisCommand("KEYS", [pattern])).flatMap { $0.array?.compactMap(\.string) ?? [] }
    }
}
