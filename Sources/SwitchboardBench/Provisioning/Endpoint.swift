import ArgumentParser
import Foundation

/// host:port of a base URL (http://, ws://; no TLS).
struct Endpoint: Sendable {
    var host: String
    var port: Int

    init(_ text: String) throws {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        for scheme in ["http://", "ws://"] where rest.hasPrefix(scheme) { rest = rest.dropFirst(scheme.count) }
        guard !rest.hasPrefix("https://"), !rest.hasPrefix("wss://") else { throw ValidationError("TLS URLs are not supported: \(text)") }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        let parts = rest.split(separator: ":")
        guard let host = parts.first, !host.isEmpty else { throw ValidationError("bad URL: \(text)") }
        self.host = String(host)
        self.port = parts.count > 1 ? Int(parts[1]) ?? 80 : 80
    }
}
