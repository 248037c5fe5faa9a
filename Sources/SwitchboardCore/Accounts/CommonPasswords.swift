/// The blocklist of common passwords (data/common-passwords.txt, embedded by
/// scripts/gen-passwords), checked case-insensitively at registration.
public enum CommonPasswords {
    /// Every entry, lowercase (built once, on first use).
    static let all: Set<String> = {
        var set = Set<String>()
        for line in CommonPasswordList.text.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
            set.insert(String(line))
        }
        return set
    }()

    /// How many passwords the list holds.
    public static var count: Int { all.count }

    /// Whether `password` is on the list, ignoring case.
    public static func contains(_ password: String) -> Bool { all.contains(password.lowercased()) }
}
