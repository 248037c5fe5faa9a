import HTTPTypes
import SwitchboardCore

/// The client address of a request, for rate-limit buckets.
///
/// The TCP peer is the client, unless the peer is one of the trusted proxies:
/// then the configured forwarding header is read from the right (the hop the
/// trusted proxy appended) towards the left, skipping trusted hops, and the
/// first untrusted hop is the client. A hop that is not an IP address stops
/// the walk at the last trusted one, so no text a client wrote ever becomes
/// part of a key: the answer is always an address in canonical form.
struct ClientAddressResolver: Sendable {
    let proxies: [CIDR]
    let header: ForwardedHeader

    init(proxies: [CIDR] = [], header: ForwardedHeader = .xForwardedFor) {
        self.proxies = proxies
        self.header = header
    }

    init(configuration: SwitchboardConfiguration) throws(SwitchboardError) {
        var proxies: [CIDR] = []
        for entry in configuration.trustedProxies {
            guard let range = CIDR(entry) else { throw .invalid("trustedProxies: not a CIDR range: \(entry)") }
            proxies.append(range)
        }
        self.init(proxies: proxies, header: configuration.forwardedHeader)
    }

    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let forwarded = HTTPField.Name("Forwarded")!

    func isTrusted(_ address: IPAddress) -> Bool { proxies.contains { $0.contains(address) } }

    /// The client address for a request from `peer` (the TCP peer's IP text) with `headers`.
    func resolve(peer: String?, headers: HTTPFields) -> String {
        guard let peerText = peer, let peerAddress = IPAddress(peerText) else { return peer ?? "unknown" }
        guard !proxies.isEmpty, isTrusted(peerAddress) else { return peerAddress.description }
        let values = headers[values: header == .forwarded ? Self.forwarded : Self.xForwardedFor]
        let hops = values.flatMap { $0.split(separator: ",") }
        var client = peerAddress
        for hop in hops.reversed() {
            let text = header == .forwarded ? Self.forwardedFor(hop) : Self.stripPort(hop.trimmingWhitespace())
            guard let text, let address = IPAddress(text) else { break }
            client = address
            if !isTrusted(address) { break }
        }
        return client.description
    }

    /// The node of `for=` in one `Forwarded` element, quotes, brackets and port removed.
    static func forwardedFor(_ element: Substring) -> Substring? {
        for pair in element.split(separator: ";") {
            let parts = pair.trimmingWhitespace().split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "for" else { continue }
            var value = parts[1]
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
            return stripPort(value)
        }
        return nil
    }

    /// `[v6]:port` → `v6`, `[v6]` → `v6`, `v4:port` → `v4`; anything else as it is.
    static func stripPort(_ text: Substring) -> Substring {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return text }
            return text[text.index(after: text.startIndex)..<close]
        }
        if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") { return text[..<colon] }
        return text
    }
}
