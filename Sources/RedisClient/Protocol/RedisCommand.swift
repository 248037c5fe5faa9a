/// One Redis command: its name and arguments, binary safe.
public struct RedisCommand: Sendable, Hashable {
    /// The arguments including the command name, each as raw bytes.
    public var arguments: [[UInt8]]

    /// A command from any mix of strings, integers and byte arrays.
    public init(_ name: String, _ arguments: [any RedisArgumentConvertible] = []) {
        var all: [[UInt8]] = []
        all.reserveCapacity(arguments.count + 1)
        all.append(Array(name.utf8))
        for argument in arguments { all.append(argument.redisArgument) }
        self.arguments = all
    }

    /// A command from pre-encoded arguments (the first one is the command name).
    public init(rawArguments: [[UInt8]]) {
        self.arguments = rawArguments
    }

    /// The command name in upper case.
    public var name: String { String(decoding: arguments.first ?? [], as: UTF8.self).uppercased() }
}

extension RedisCommand: CustomStringConvertible {
    public var description: String {
        arguments.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
    }
}

/// A value that can be one argument of a Redis command.
public protocol RedisArgumentConvertible: Sendable {
    /// The argument's bytes as Redis receives them.
    var redisArgument: [UInt8] { get }
}

extension String: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(utf8) }
}

extension Substring: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(utf8) }
}

extension Int: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(String(self).utf8) }
}

extension Int64: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(String(self).utf8) }
}

extension Double: RedisArgumentConvertible {
    public var redisArgument: [UInt8] { Array(String(self).utf8) }
}

extension Array: RedisArgumentConvertible where Element == UInt8 {
    public var redisArgument: [UInt8] { self }
}
