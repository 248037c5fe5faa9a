/// Which arguments of a command are keys, for routing on a cluster.
///
/// Covers the commands Switchboard sends (and the usual families around
/// them); a command not listed is treated as keyless when it is one of the
/// known server commands, else its first argument is taken as its key (the
/// shape of most Redis commands).
extension RedisCommand {
    /// Commands that touch no key: on a cluster they go to any master (see `RedisClusterRouter`).
    static let keylessCommands: Set<String> = [
        "PING", "ECHO", "INFO", "TIME", "DBSIZE", "SCAN", "KEYS", "RANDOMKEY", "FLUSHALL", "FLUSHDB", "SCRIPT",
        "FUNCTION", "CLIENT", "CONFIG", "CLUSTER", "COMMAND", "ROLE", "WAIT", "MULTI", "EXEC", "DISCARD", "ASKING",
        "READONLY", "READWRITE", "AUTH", "HELLO", "SELECT", "PUBLISH", "PUBSUB", "LASTSAVE", "MEMORY",
        "SLOWLOG", "LATENCY", "DEBUG", "SHUTDOWN", "SAVE", "BGSAVE", "BGREWRITEAOF", "QUIT", "RESET", "MONITOR",
        "SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE", "SSUBSCRIBE", "SUNSUBSCRIBE", "SENTINEL", "LOLWUT",
    ]

    /// Commands whose every argument after the name is a key.
    static let allKeysCommands: Set<String> = [
        "DEL", "UNLINK", "EXISTS", "MGET", "TOUCH", "WATCH", "SUNION", "SINTER", "SDIFF", "PFCOUNT",
    ]

    /// Commands whose arguments from index 1 up to (not including) the last are keys.
    static let keysButLastCommands: Set<String> = ["BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX"]

    /// Commands whose second argument is the number of keys that follow it.
    static let numkeysAt1Commands: Set<String> = ["ZINTER", "ZUNION", "ZDIFF", "SINTERCARD", "ZINTERCARD", "LMPOP", "ZMPOP"]

    /// Commands whose third argument is the number of keys that follow it (scripts and functions).
    static let numkeysAt2Commands: Set<String> = ["EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"]

    /// The key arguments of the command, in order (empty for a keyless command).
    public var keys: [[UInt8]] {
        let name = self.name
        let arguments = self.arguments
        if Self.keylessCommands.contains(name) || arguments.count < 2 { return [] }
        func count(at index: Int) -> Int {
            guard index < arguments.count, let n = Int(String(decoding: arguments[index], as: UTF8.self)) else { return 0 }
            return max(0, min(n, arguments.count - index - 1))
        }
        switch name {
        case _ where Self.allKeysCommands.contains(name):
            return Array(arguments.dropFirst())
        case _ where Self.keysButLastCommands.contains(name):
            return Array(arguments.dropFirst().dropLast())
        case _ where Self.numkeysAt1Commands.contains(name):
            return Array(arguments[2..<(2 + count(at: 1))])
        case _ where Self.numkeysAt2Commands.contains(name):
            return Array(arguments[3..<(3 + count(at: 2))])
        case "MSET", "MSETNX":
            return stride(from: 1, to: arguments.count, by: 2).map { arguments[$0] }
        case "RENAME", "RENAMENX", "SMOVE", "LMOVE", "RPOPLPUSH", "COPY", "SUNIONSTORE", "SINTERSTORE", "SDIFFSTORE":
            return name.hasSuffix("STORE") ? Array(arguments.dropFirst()) : Array(arguments[1...2])
        case "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE":
            return [arguments[1]] + Array(arguments[3..<(3 + count(at: 2))])
        case "XREAD", "XREADGROUP":
            guard let streams = arguments.firstIndex(where: { String(decoding: $0, as: UTF8.self).uppercased() == "STREAMS" })
            else { return [] }
            let rest = arguments[(streams + 1)...]
            return Array(rest.prefix(rest.count / 2))
        case "OBJECT", "XINFO", "XGROUP", "MEMORY":
            return arguments.count > 2 ? [arguments[2]] : []
        default:
            return [arguments[1]]
        }
    }

    /// The hash slot every key of the command is in; nil for a keyless command.
    /// Throws `crossSlot` when the keys are in different slots: such a command
    /// is never sent to a cluster.
    public func hashSlot() throws(RedisError) -> RedisHashSlot? {
        let keys = self.keys
        guard let first = keys.first else { return nil }
        let slot = RedisHashSlot(key: first)
        for key in keys.dropFirst() where RedisHashSlot(key: key) != slot {
            let names = keys.prefix(4).map { String(decoding: $0, as: UTF8.self) }.joined(separator: ", ")
            throw RedisError(
                code: .crossSlot,
                message: "\(name) has keys in different hash slots (\(names)\(keys.count > 4 ? ", …" : "")): "
                    + "on a cluster every key of one command must share a hash tag")
        }
        return slot
    }
}
