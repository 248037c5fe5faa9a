import NIOCore
import RedisClient

/// Where the state-changing Lua scripts append their events (`sb:events`).
///
/// Each script takes the stream as an optional last KEY and its `MAXLEN ~`
/// as the last ARGV, and XADDs its event in the same call as the change,
/// so an acknowledged change always has its event and a refused one never
/// does. Off, nothing is appended and the scripts run exactly as before.
///
/// On Redis Cluster (`perSlot`) a script may touch only keys of its own
/// slot, so the stream it is given is the one of that slot,
/// `sb:events:{<tag>}` (`EventSlotTags`), named after the slot of the
/// script's first key: every event of a conversation (or of a user) lands
/// in one stream, in order.
public struct EventStream: Sendable, Hashable {
    /// The stream key (one Redis), or the prefix of the per-slot names' base
    /// (`sb:events`) on a cluster; nil when events are off.
    public let key: String?
    /// `XADD MAXLEN ~` of every append (per stream on a cluster); 0 never trims.
    public let maxLength: Int
    /// Whether `read.updated` is written (high volume: opt-in).
    public let includeRead: Bool
    /// One stream per hash slot (Redis Cluster).
    public let perSlot: Bool

    public init(key: String?, maxLength: Int = 1_000_000, includeRead: Bool = false, perSlot: Bool = false) {
        self.key = key
        self.maxLength = maxLength
        self.includeRead = includeRead
        self.perSlot = perSlot
    }

    /// Events as configured, on the layout's stream key (per slot on a cluster).
    public init(_ configuration: EventsConfiguration, keys: KeyLayout, perSlot: Bool = false) {
        self.init(
            key: configuration.enabled ? keys.events : nil, maxLength: configuration.maxLength,
            includeRead: configuration.includeRead, perSlot: perSlot)
    }

    /// No events.
    public static let off = EventStream(key: nil)

    /// The stream for `read.updated`: itself, or off unless reads are included.
    public var forReads: EventStream { includeRead ? self : .off }

    /// The stream a script whose keys are `keys` appends to: the one stream,
    /// or on a cluster the stream of the first key's slot.
    public func stream(for keys: [any RedisArgumentConvertible]) -> String? {
        guard let key else { return nil }
        guard perSlot else { return key }
        let slot = keys.first.map { RedisHashSlot(key: $0.redisArgument).rawValue } ?? 0
        return Self.name(base: key, slot: slot)
    }

    /// `<base>:{<tag of slot>}`, as `KeyLayout.events(slot:)` names it.
    static func name(base: String, slot: Int) -> String { "\(base):{\(EventSlotTags.tags[slot])}" }

    /// A script's keys with the stream appended (when on).
    public func keys(_ keys: [any RedisArgumentConvertible]) -> [any RedisArgumentConvertible] {
        guard let stream = stream(for: keys) else { return keys }
        return keys + [stream]
    }

    /// A script's arguments with the stream's MAXLEN appended (when on).
    public func arguments(_ arguments: [any RedisArgumentConvertible]) -> [any RedisArgumentConvertible] {
        guard key != nil else { return arguments }
        return arguments + [maxLength]
    }
}

extension RedisScriptRegistry {
    /// Runs a state-changing script with the event stream appended; throws error replies.
    public func evaluate(
        _ name: String, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible], events: EventStream
    ) async throws -> RedisValue {
        try await evaluate(name, keys: events.keys(keys), arguments: events.arguments(arguments))
    }

    /// `evaluate(_:keys:arguments:events:)` as a future; error replies come back as `.error`.
    public func evaluate(
        _ name: String, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible], events: EventStream
    ) -> EventLoopFuture<RedisValue> {
        evaluate(name, keys: events.keys(keys), arguments: events.arguments(arguments))
    }
}

extension RedisScriptRegistry.Call {
    /// A pipelined script call with the event stream appended.
    public init(_ name: String, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible], events: EventStream) {
        self.init(name, keys: events.keys(keys), arguments: events.arguments(arguments))
    }
}
