import Foundation
import Hummingbird
import Logging
import RedisClient
import ServiceLifecycle
import SwitchboardCore
import SwitchboardServer
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A node running in the test process on a free loopback port, against the
/// test Redis, with its own key prefix.
final class TestNode: Sendable {
    let node: SwitchboardNode
    let port: Int
    let group: ServiceGroup
    let task: Task<Void, any Error>

    static var redisURL: String {
        ProcessInfo.processInfo.environment["REDIS_URL"]
            ?? ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379"
    }

    /// A configuration for tests: fast scrypt, generous limits, a fresh prefix.
    static func configuration(prefix: String? = nil) -> SwitchboardConfiguration {
        var configuration = SwitchboardConfiguration()
        configuration.port = 0
        configuration.redisURL = redisURL
        configuration.prefix = prefix ?? "t\(RandomID.make(length: 6)):"
        configuration.redisPoolSize = 2
        configuration.auth.scryptN = 1 << 10
        configuration.limits.loginPerMinute = 10_000
        configuration.limits.registrationsPerMinute = 10_000
        return configuration
    }

    private init(node: SwitchboardNode, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.node = node
        self.port = port
        self.group = group
        self.task = task
    }

    static func start(_ configuration: SwitchboardConfiguration = configuration()) async throws -> TestNode {
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

    var switchboard: Switchboard { node.switchboard }
    var keys: KeyLayout { node.switchboard.keys }
    var redis: RedisClient { node.switchboard.redis }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    // MARK: HTTP

    struct HTTPResult: @unchecked Sendable {
        var status: Int
        var body: Data
        var headers: [String: String]

        /// The body as a JSON object ([:] when not an object).
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        /// `error.code` of an error body.
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func request(
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
    struct Account: Sendable {
        var id: String
        var username: String
        var accessToken: String
        var refreshToken: String
    }

    func register(_ username: String? = nil, password: String = "correct horse") async throws -> Account {
        let name = username ?? "u\(RandomID.make(length: 10))"
        let result = try await request("POST", "/api/v1/auth/register", json: ["username": name, "password": password])
        #expect(result.status == 201, "register \(name): \(result.text)")
        let user = result.json["user"] as? [String: Any] ?? [:]
        return Account(
            id: user["id"] as? String ?? "", username: name, accessToken: result.json["accessToken"] as? String ?? "",
            refreshToken: result.json["refreshToken"] as? String ?? "")
    }
}
