/// Posts, follows and feeds.
public struct PostsConfiguration: Sendable {
    /// Bytes of one post text.
    public var textLength: Int = 4096
    /// Bytes of one comment text.
    public var commentLength: Int = 2048
    /// Post ids kept per feed (the newest).
    public var feedSize: Int = 1000
    /// Authors with more followers than this are merged into feeds at read
    /// time instead of written into each follower's feed (`--feed-fanout-max`).
    public var feedFanoutMax: Int = 10_000
    /// Followers written per `post_fanout` script call.
    public var fanoutBatch: Int = 500
    /// Read-time authors merged into one feed page at most.
    public var pullAuthorsPerRead: Int = 100
    /// Posts per user per minute.
    public var postsPerMinute: Int = 30
    /// Likes and unlikes per user per minute.
    public var likesPerMinute: Int = 300
    /// Comments per user per minute.
    public var commentsPerMinute: Int = 60
    /// Follows and unfollows per user per minute.
    public var followsPerMinute: Int = 60

    public init() {}
}
