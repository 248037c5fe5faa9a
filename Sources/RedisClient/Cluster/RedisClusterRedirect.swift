/// A cluster redirection in an error reply: `MOVED <slot> <host:port>` (the
/// slot lives elsewhere now) or `ASK <slot> <host:port>` (the slot is being
/// migrated; ask the target once, after `ASKING`).
struct RedisClusterRedirect: Sendable, Hashable {
    enum Kind: Sendable, Hashable { case moved, ask }

    var kind: Kind
    var slot: RedisHashSlot
    var address: RedisConfiguration.Address

    /// Parses an error reply; nil when it is not a redirect. An empty host
    /// (`MOVED 3999 :6381`) means the host of the node that answered.
    init?(_ reply: RedisValue, from node: RedisConfiguration.Address) {
        guard let message = reply.errorMessage else { return nil }
        let parts = message.split(separator: " ")
        guard parts.count == 3, let slot = Int(parts[1]), (0..<RedisHashSlot.count).contains(slot) else { return nil }
        let kind: Kind
        switch parts[0] {
        case "MOVED": kind = .moved
        case "ASK": kind = .ask
        default: return nil
        }
        let endpoint = parts[2]
        guard let colon = endpoint.lastIndex(of: ":"), let port = Int(endpoint[endpoint.index(after: colon)...]) else { return nil }
        var host = String(endpoint[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty, case .tcp(let nodeHost, _) = node { host = nodeHost }
        self.kind = kind
        self.slot = RedisHashSlot(rawValue: slot)
        self.address = .tcp(host: host, port: port)
    }
}
