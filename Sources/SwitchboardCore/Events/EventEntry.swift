import RedisClient

/// One entry of the event stream: its stream id and the event's JSON text
/// (`{"type","ts","data"}`), exactly as the script wrote it.
public struct EventEntry: Sendable, Hashable {
    /// The stream entry id (`<ms>-<n>`), also the event's id for consumers.
    public var id: String
    /// The `event` field: `{"type": ..., "ts": <ms>, "data": {...}}`.
    public var json: String
    /// How often the entry was delivered to a consumer of the group (XAUTOCLAIM / XPENDING); 0 when unknown.
    public var deliveries: Int = 0

    public init(id: String, json: String, deliveries: Int = 0) {
        self.id = id
        self.json = json
        self.deliveries = deliveries
    }

    /// The event as one JSON object with the entry id added first: `{"id":"…","type":…}`.
    public var line: String {
        guard json.first == "{" else { return json }
        return "{\"id\":\"\(id)\"," + json.dropFirst()
    }

    /// `line` with the stream it came from after the id, for the per-slot
    /// streams of a cluster (ids are unique per stream only):
    /// `{"id":"…","stream":"sb:events:{a3}","type":…}`.
    public func line(stream: String) -> String {
        guard json.first == "{" else { return json }
        return "{\"id\":\"\(id)\",\"stream\":\"\(stream)\"," + json.dropFirst()
    }

    /// Entries from an `XRANGE`/`XREAD` array of `[id, [field, value, …]]`.
    static func entries(_ value: RedisValue?) -> [EventEntry] {
        (value?.array ?? []).compactMap { entry in
            guard let parts = entry.array, parts.count == 2, let id = parts[0].string, let fields = parts[1].array else { return nil }
            var index = 0
            while index + 1 < fields.count {
                if fields[index].string == "event", let json = fields[index + 1].string { return EventEntry(id: id, json: json) }
                index += 2
            }
            return nil
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
