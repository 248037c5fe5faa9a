import Foundation

/// Which browser origins may open a WebSocket (`--allowed-origins`).
///
/// A browser sends `Origin` with every WebSocket upgrade and lets any page
/// open one to any host, cookies or not: without this check a page of
/// another site could talk to the hub as the user's browser. Allowed: no
/// `Origin` at all (non-browser clients), the request's own origin (the
/// `Origin`'s host and port equal its `Host`: the browser app the node
/// serves), and every origin listed (`*` allows all).
struct OriginPolicy: Sendable {
    /// Listed origins, normalised (`scheme://host[:port]`, lowercase, no default port).
    let listed: Set<String>
    let allowsAll: Bool

    init(allowed: [String]) {
        var listed = Set<String>()
        var all = false
        for origin in allowed {
            let trimmed = origin.trimmingSpaces
            if trimmed == "*" { all = true } else if !trimmed.isEmpty { listed.insert(Self.normalized(trimmed)) }
        }
        self.listed = listed
        self.allowsAll = all
    }

    /// Whether an upgrade with this `Origin` header (nil: none) and `Host` header may proceed.
    func allows(origin: String?, host: String?) -> Bool {
        guard let origin else { return true }
        if allowsAll { return true }
        let normalized = Self.normalized(origin)
        if listed.contains(normalized) { return true }
        guard let host, let schemeEnd = normalized.range(of: "://") else { return false }
        let scheme = normalized[..<schemeEnd.lowerBound]
        let authority = normalized[schemeEnd.upperBound...]
        return authority == Self.withoutDefaultPort(host.lowercased().trimmingSpaces, scheme: scheme)
    }

    /// `HTTPS://Example.com:443/` → `https://example.com`.
    static func normalized(_ origin: String) -> String {
        var value = origin.trimmingSpaces.lowercased()
        while value.hasSuffix("/") { value.removeLast() }
        guard let schemeEnd = value.range(of: "://") else { return value }
        let scheme = value[..<schemeEnd.lowerBound]
        return scheme + "://" + withoutDefaultPort(String(value[schemeEnd.upperBound...]), scheme: scheme)
    }

    private static func withoutDefaultPort(_ authority: String, scheme: Substring) -> String {
        let suffix = scheme == "https" || scheme == "wss" ? ":443" : ":80"
        return authority.hasSuffix(suffix) ? String(authority.dropLast(suffix.count)) : authority
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
