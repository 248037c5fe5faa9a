/// Which master serves which hash slots: the cluster's slot map, read from
/// `CLUSTER SHARDS` (Redis 7+).
public struct RedisClusterTopology: Sendable, Hashable {
    /// One shard: a master, its replicas, and the slot ranges it serves.
    public struct Shard: Sendable, Hashable {
        /// The master's address (what commands go to).
        public var master: RedisConfiguration.Address
        /// The replicas' addresses (online ones only).
        public var replicas: [RedisConfiguration.Address]
        /// Inclusive slot ranges.
        public var slots: [ClosedRange<Int>]
    }

    /// Every shard that serves at least one slot.
    public private(set) var shards: [Shard]
    /// Index into `shards` per slot; -1 when no master serves the slot.
    private var owners: [Int16]

    public init(shards: [Shard]) {
        self.shards = shards
        var owners = [Int16](repeating: -1, count: RedisHashSlot.count)
        for (index, shard) in shards.enumerated() {
            for range in shard.slots where range.lowerBound >= 0 && range.upperBound < RedisHashSlot.count {
                for slot in range { owners[slot] = Int16(index) }
            }
        }
        self.owners = owners
    }

    /// The master that serves `slot`, if any.
    public func master(for slot: RedisHashSlot) -> RedisConfiguration.Address? {
        let index = owners[slot.rawValue]
        return index < 0 ? nil : shards[Int(index)].master
    }

    /// Every master, in slot order.
    public var masters: [RedisConfiguration.Address] { shards.map(\.master) }

    /// Whether every slot has a master (`cluster_state:ok` as far as the map goes).
    public var coversAllSlots: Bool { !owners.contains(-1) }

    /// Moves one slot to `master` (after a `MOVED`), adding a shard when the master is new.
    public mutating func assign(_ slot: RedisHashSlot, to master: RedisConfiguration.Address) {
        if let index = shards.firstIndex(where: { $0.master == master }) {
            owners[slot.rawValue] = Int16(index)
        } else {
            shards.append(Shard(master: master, replicas: [], slots: [slot.rawValue...slot.rawValue]))
            owners[slot.rawValue] = Int16(shards.count - 1)
        }
    }

    /// Parses a RESP2 `CLUSTER SHARDS` reply. `tls` picks each node's
    /// `tls-port`; `answeredBy` is the host to use for a node whose endpoint
    /// is unknown (`?` or empty, meaning "the host you asked").
    public init(shardsReply reply: RedisValue, tls: Bool, answeredBy host: String) throws(RedisError) {
        guard let shardList = reply.array else {
            throw RedisError(code: .protocolError, message: "CLUSTER SHARDS answered \(reply)")
        }
        var shards: [Shard] = []
        for shardValue in shardList {
            let fields = Self.fields(shardValue)
            let slotNumbers = fields["slots"]?.array?.compactMap(\.int) ?? []
            var ranges: [ClosedRange<Int>] = []
            for pair in stride(from: 0, to: slotNumbers.count - 1, by: 2) where slotNumbers[pair] <= slotNumbers[pair + 1] {
                ranges.append(slotNumbers[pair]...slotNumbers[pair + 1])
            }
            var master: RedisConfiguration.Address?
            var replicas: [RedisConfiguration.Address] = []
            for nodeValue in fields["nodes"]?.array ?? [] {
                let node = Self.fields(nodeValue)
                guard node["health"]?.string ?? "online" == "online" else { continue }
                let port = tls ? (node["tls-port"]?.int ?? node["port"]?.int) : (node["port"]?.int ?? node["tls-port"]?.int)
                guard let port, port > 0 else { continue }
                var nodeHost = node["endpoint"]?.string ?? ""
                if nodeHost.isEmpty || nodeHost == "?" { nodeHost = node["ip"]?.string ?? "" }
                if nodeHost.isEmpty || nodeHost == "?" { nodeHost = host }
                let address = RedisConfiguration.Address.tcp(host: nodeHost, port: port)
                if node["role"]?.string == "master" { master = address } else { replicas.append(address) }
            }
            guard let master, !ranges.isEmpty else { continue }
            shards.append(Shard(master: master, replicas: replicas, slots: ranges))
        }
        guard !shards.isEmpty else {
            throw RedisError(code: .clusterDown, message: "CLUSTER SHARDS named no master serving any slot")
        }
        self.init(shards: shards)
    }

    /// A RESP2 map (a flat array of name, value, name, value …) as a dictionary.
    private static func fields(_ value: RedisValue) -> [String: RedisValue] {
        guard let items = value.array else { return [:] }
        var result: [String: RedisValue] = [:]
        for pair in stride(from: 0, to: items.count - 1, by: 2) {
            if let name = items[pair].string { result[name] = items[pair + 1] }
        }
        return result
    }
}
