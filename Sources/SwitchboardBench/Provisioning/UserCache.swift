import Foundation

/// Users and tokens kept between runs (`--users-cache`): one
/// `name id access refresh` line each, tab separated.
struct UserCache {
    let path: String?
    var users: [String: BenchUser] = [:]

    init(path: String?) { self.path = path }

    mutating func load() {
        guard let path, let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "\t").map(String.init)
            guard fields.count == 4 else { continue }
            users[fields[0]] = BenchUser(name: fields[0], id: fields[1], access: fields[2], refresh: fields[3])
        }
    }

    func save() {
        guard let path else { return }
        let text = users.values.sorted { $0.name < $1.name }.map { "\($0.name)\t\($0.id)\t\($0.access)\t\($0.refresh)\n" }.joined()
        try? text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
