/// One page of a newest-first list (feed, a user's posts, followers,
/// comments): pass `next` as `before` to get the older page; nil at the end.
public struct ListPage<Item: Sendable>: Sendable {
    public var items: [Item]
    /// The cursor of the next (older) page (`<ms>:<id>`), nil at the end.
    public var next: String?

    public init(items: [Item], next: String?) {
        self.items = items
        self.next = next
    }
}

extension ListPage: Equatable where Item: Equatable {}
