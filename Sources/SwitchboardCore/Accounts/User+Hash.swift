import SwitchboardProtocol

extension User {
    /// Builds a user from its Redis hash; nil when the hash is empty or incomplete.
    init?(hash: [String: String]) {
        guard let id = hash["id"], let username = hash["username"] else { return nil }
        self.init(
            id: id, username: username, displayName: hash["displayName"] ?? username,
            bio: hash["bio"].flatMap { $0.isEmpty ? nil : $0 }, avatar: hash["avatar"].flatMap { $0.isEmpty ? nil : $0 },
            createdAt: hash["createdAt"].flatMap { Int($0) } ?? 0)
    }
}
