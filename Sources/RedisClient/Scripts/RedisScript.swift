import Foundation

/// A Lua script: a name (its file name without `.lua`) and its source.
public struct RedisScript: Sendable, Hashable {
    /// The script's name, used to call it.
    public var name: String
    /// The Lua source as loaded into Redis.
    public var source: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
    }

    /// Every `*.lua` file of a folder, one script a file, sorted by name.
    public static func load(directory: String) throws -> [RedisScript] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".lua") }
            .sorted()
        return try names.map { file in
            let source = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            return RedisScript(name: String(file.dropLast(4)), source: source)
        }
    }
}
