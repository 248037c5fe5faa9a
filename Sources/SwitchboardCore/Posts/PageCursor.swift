/// A position in a list sorted newest first by (score, id): the `before`
/// query parameter and the `next` field of paged answers, written
/// `<ms>:<id>`. A bare `<ms>` means "older than this time".
public struct PageCursor: Sendable, Hashable, CustomStringConvertible {
    public var score: Int
    public var id: String

    public init(score: Int, id: String) {
        self.score = score
        self.id = id
    }

    /// Parses `<ms>` or `<ms>:<id>`; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let score = Int(first), score >= 0 else { return nil }
        self.score = score
        self.id = parts.count > 1 ? String(parts[1]) : ""
        if parts.count > 1 && id.isEmpty { return nil }
    }

    public var description: String { id.isEmpty ? "\(score)" : "\(score):\(id)" }

    /// Whether an entry comes after this cursor, newest first (ties: id descending, as ZREVRANGE orders them).
    public func isBefore(score other: Int, id otherID: String) -> Bool {
        other < score || (other == score && !id.isEmpty && otherID < id)
    }
}

/// One page of a newest-first list.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    /// Where the next (older) page starts; nil at the end.
    public var next: PageCursor?
}
