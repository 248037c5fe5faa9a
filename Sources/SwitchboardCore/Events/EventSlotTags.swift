import RedisClient

/// For each of the 16,384 hash slots of a Redis Cluster, the shortest tag
/// (then the first in `0-9a-zA-Z` order) whose CRC16 lands in that slot.
///
/// A script on a cluster may write only keys of its own slot, so on a
/// cluster the event stream is one stream per slot: a script working on
/// `{C}` (slot `s`) appends to `sb:events:{tags[s]}`, which is in slot `s`
/// too. The table depends on nothing but CRC16, so every node and every
/// consumer computes the same names.
public enum EventSlotTags {
    /// `tags[s]` hashes to slot `s`.
    public static let tags: [String] = make()

    static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)

    static func make() -> [String] {
        var tags = [String?](repeating: nil, count: RedisHashSlot.count)
        var missing = RedisHashSlot.count
        var length = 1
        while missing > 0 {
            // Every string of `length` characters from the alphabet, in order.
            var digits = [Int](repeating: 0, count: length)
            var candidate = [UInt8](repeating: alphabet[0], count: length)
            while true {
                let slot = RedisHashSlot(key: candidate).rawValue
                if tags[slot] == nil {
                    tags[slot] = String(decoding: candidate, as: UTF8.self)
                    missing -= 1
                }
                var position = length - 1
                while position >= 0 {
                    digits[position] += 1
                    if digits[position] < alphabet.count {
                        candidate[position] = alphabet[digits[position]]
                        break
                    }
                    digits[position] = 0
                    candidate[position] = alphabet[0]
                    position -= 1
                }
                if position < 0 { break }
            }
            length += 1
        }
        return tags.map { $0! }
    }
}
