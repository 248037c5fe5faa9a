import Foundation

/// Where to find the master: a few sentinels that monitor it under a name.
public struct RedisSentinelConfiguration: Sendable, Hashable {
    /// The sentinels, asked in turn (any one that answers is enough).
    public var sentinels: [RedisConfiguration.Address]
    /// The name the sentinels monitor the master under (`sentinel monitor NAME …`).
    public var masterName: String
    /// Password of the sentinels (`requirepass` in sentinel.conf); nil sends no AUTH.
    /// The master's own credentials stay in the Redis URL.
    public var password: String?

    public init(sentinels: [RedisConfiguration.Address], masterName: String, password: String? = nil) {
        self.sentinels = sentinels
        self.masterName = masterName
        self.password = password
    }

    /// Parses `host:port,host:port` (the port defaults to 26379; `[v6]:port` for IPv6).
    /// `what` names the entries in error messages.
    public static func addresses(
        _ text: String, defaultPort: Int = 26379, what: String = "sentinel"
    ) throws(RedisError) -> [RedisConfiguration.Address] {
        var result: [RedisConfiguration.Address] = []
        for item in text.split(separator: ",") {
            let entry = item.trimmingCharacters(in: .whitespaces)
            guard !entry.isEmpty else { continue }
            var host = entry
            var port = defaultPort
            if entry.hasPrefix("["), let close = entry.firstIndex(of: "]") {
                host = String(entry[entry.index(after: entry.startIndex)..<close])
                let after = entry[entry.index(after: close)...]
                if after.hasPrefix(":") {
                    guard let number = Int(after.dropFirst()), (1...65535).contains(number) else {
                        throw RedisError(code: .invalidURL, message: "invalid \(what) port in \(entry)")
                    }
                    port = number
                }
            } else if let colon = entry.lastIndex(of: ":") {
                host = String(entry[..<colon])
                guard let number = Int(entry[entry.index(after: colon)...]), (1...65535).contains(number) else {
                    throw RedisError(code: .invalidURL, message: "invalid \(what) port in \(entry)")
                }
                port = number
            }
            guard !host.isEmpty else { throw RedisError(code: .invalidURL, message: "\(what) without a host: \(entry)") }
            result.append(.tcp(host: host, port: port))
        }
        guard !result.isEmpty else { throw RedisError(code: .invalidURL, message: "no \(what) address in \"\(text)\"") }
        return result
    }
}
