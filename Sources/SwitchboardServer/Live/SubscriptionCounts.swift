/// Reference counts of the pub/sub channels local sessions need: a channel
/// is subscribed when its count leaves 0 and unsubscribed when it returns
/// to 0. A pure value; the hub keeps it under a lock.
struct SubscriptionCounts {
    private var counts: [String: Int] = [:]

    /// Takes a reference on each channel; answers those that had none (to subscribe).
    mutating func retain(_ channels: [String]) -> [String] {
        var fresh: [String] = []
        for channel in channels {
            counts[channel, default: 0] += 1
            if counts[channel] == 1 { fresh.append(channel) }
        }
        return fresh
    }

    /// Drops a reference on each channel; answers those nobody needs any more (to unsubscribe).
    /// Releasing a channel without a reference does nothing.
    mutating func release(_ channels: [String]) -> [String] {
        var unused: [String] = []
        for channel in channels {
            guard let count = counts[channel] else { continue }
            if count <= 1 {
                counts[channel] = nil
                unused.append(channel)
            } else {
                counts[channel] = count - 1
            }
        }
        return unused
    }

    /// The references a channel has.
    func count(of channel: String) -> Int { counts[channel] ?? 0 }

    /// Channels with at least one reference.
    var channels: Int { counts.count }
}
