import Foundation
import NIOCore

/// Where and how to connect to Redis. Every field has a default.
public struct RedisConfiguration: Sendable, Hashable {
    /// A TCP host and port, or a unix socket path.
    public enum Address: Sendable, Hashable, CustomStringConvertible {
        case tcp(host: String, port: Int)
        case unix(path: String)

        public var description: String {
            switch self {
            case .tcp(let host, let port): return "\(host):\(port)"
            case .unix(let path): return "unix:\(path)"
            }
        }
    }

    /// The server to connect to.
    public var address: Address = .tcp(host: "127.0.0.1", port: 6379)
    /// ACL user name for `AUTH user password` (Redis 6+); nil for plain `AUTH password`.
    public var username: String?
    /// Password sent with `AUTH` right after connecting; nil sends no AUTH.
    public var password: String?
    /// Database selected with `SELECT` after connecting.
    public var database: Int = 0
    /// Connections in the command pool. Each pipelines many requests, so a few are enough.
    public var poolSize: Int = 4
    /// How long a request may wait for its reply before the connection is considered dead.
    public var requestTimeout: TimeAmount? = .seconds(5)
    /// How long a connection attempt may take.
    public var connectTimeout: TimeAmount = .seconds(3)
    /// Delays between reconnection attempts.
    public var backoff: RedisBackoff = RedisBackoff()
    /// Name shown by `CLIENT LIST`.
    public var clientName: String?
    /// TLS to the server; nil is plain TCP. Set by `rediss://` URLs.
    public var tls: RedisTLSConfiguration?
    /// Find the master through Sentinel instead of connecting to `address`.
    public var sentinel: RedisSentinelConfiguration?
    /// Talk to a Redis Cluster found from these seeds instead of `address`
    /// (commands routed by hash slot, sharded pub/sub). Exclusive with `sentinel`.
    public var cluster: RedisClusterConfiguration?
    /// Check with `ROLE` after connecting that the server is a master (on with Sentinel).
    public var requireMaster: Bool = false

    public init() {}

    /// Parses `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS),
    /// `unix:///path/to.sock[?db=N]` or `redis+unix:///path/to.sock`.
    public init(url: String) throws {
        self.init()
        guard let schemeEnd = url.range(of: "://") else {
            throw RedisError(code: .invalidURL, message: "not a Redis URL (expected redis://host:port): \(url)")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        var rest = String(url[schemeEnd.upperBound...])
        var query: [String: String] = [:]
        if let mark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { query[String(parts[0])] = String(parts[1]).removingPercentEncoding }
            }
            rest = String(rest[..<mark])
        }
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = String(rest[rest.index(after: at)...])
            if let colon = userInfo.firstIndex(of: ":") {
                let user = String(userInfo[..<colon]).removingPercentEncoding ?? ""
                username = user.isEmpty ? nil : user
                password = String(userInfo[userInfo.index(after: colon)...]).removingPercentEncoding
            } else {
                password = String(userInfo).removingPercentEncoding
            }
        }
        switch scheme {
        case "unix", "redis+unix":
            guard rest.hasPrefix("/") else {
                throw RedisError(code: .invalidURL, message: "a unix socket URL needs an absolute path: \(url)")
            }
            address = .unix(path: rest)
        case "redis", "rediss":
            if scheme == "rediss" { tls = RedisTLSConfiguration() }
            var hostPort = rest
            if let slash = rest.firstIndex(of: "/") {
                hostPort = String(rest[..<slash])
                let db = rest[rest.index(after: slash)...]
                if !db.isEmpty {
                    guard let number = Int(db), number >= 0 else {
                        throw RedisError(code: .invalidURL, message: "invalid database number in \(url)")
                    }
                    database = number
                }
            }
            var host = hostPort
            var port = 6379
            if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
                host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
                let after = hostPort[hostPort.index(after: close)...]
                if after.hasPrefix(":") {
                    guard let number = Int(after.dropFirst()) else {
                        throw RedisError(code: .invalidURL, message: "invalid port in \(url)")
                    }
                    port = number
                }
            } else if let colon = hostPort.lastIndex(of: ":") {
                host = String(hostPort[..<colon])
                guard let number = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(number) else {
                    throw RedisError(code: .invalidURL, message: "invalid port in \(url)")
                }
                port = number
            }
            if host.isEmpty { host = "127.0.0.1" }
            address = .tcp(host: host, port: port)
        default:
            throw RedisError(code: .invalidURL, message: "unsupported scheme \(scheme):// (use redis://, rediss:// or unix://)")
        }
        if let db = query["db"] {
            guard let number = Int(db), number >= 0 else {
                throw RedisError(code: .invalidURL, message: "invalid database number in \(url)")
            }
            database = number
        }
    }
}

/// Exponential backoff with jitter between reconnection attempts.
public struct RedisBackoff: Sendable, Hashable {
    /// Delay before the first retry.
    public var initial: TimeAmount = .milliseconds(50)
    /// Upper bound of any delay.
    public var maximum: TimeAmount = .seconds(3)
    /// Growth factor per failed attempt.
    public var multiplier: Double = 2
    /// Fraction of the delay randomised (0.2 = ±20 %), so many nodes don't reconnect in lockstep.
    public var jitter: Double = 0.2

    public init() {}

    /// The delay before attempt `attempt` (1 = first retry).
    public func delay(attempt: Int, random: Double = Double.random(in: -1...1)) -> TimeAmount {
        let exponent = Double(max(attempt - 1, 0))
        let base = min(Double(initial.nanoseconds) * pow(multiplier, exponent), Double(maximum.nanoseconds))
        let jittered = base * (1 + jitter * random)
        return .nanoseconds(Int64(max(0, min(jittered, Double(maximum.nanoseconds)))))
    }
}
