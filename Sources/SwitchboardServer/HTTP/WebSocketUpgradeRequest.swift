/// A connection's first request head when it is a plain WebSocket upgrade
/// of `/ws`, read from the raw bytes (`DirectUpgradeHandler`).
///
/// Deliberately narrow: `GET <target> HTTP/1.1`, CRLF line ends, no
/// folded or non-ASCII header lines, no body, one `Sec-WebSocket-Key`,
/// `Sec-WebSocket-Version: 13`, `Connection` listing `upgrade` and `Upgrade`
/// listing `websocket`. Anything else is `.other` and takes NIO's HTTP
/// pipeline, so every unusual request is answered exactly as before.
struct WebSocketUpgradeRequest: Equatable, Sendable {
    /// The request target as sent (`/ws?resume=1`).
    var target: String
    var key: String
    /// The first `Authorization`, `Origin` and `Host` headers.
    var authorization: String?
    var origin: String?
    var host: String?

    enum Parsed: Equatable {
        /// The head is not complete yet (and still short enough to wait for).
        case incomplete
        /// A WebSocket upgrade of `/ws`; `headLength` bytes are the head.
        case upgrade(WebSocketUpgradeRequest, headLength: Int)
        /// Anything else: for the HTTP pipeline.
        case other
    }

    /// Heads longer than this take the HTTP pipeline.
    static let maxHeadLength = 8192

    private static let requestLinePrefix = Array("GET ".utf8)
    private static let versionSuffix = Array(" HTTP/1.1".utf8)

    static func parse(_ bytes: UnsafeRawBufferPointer) -> Parsed {
        // Not a GET: nothing to wait for.
        let prefixLength = min(bytes.count, requestLinePrefix.count)
        guard bytes.prefix(prefixLength).elementsEqual(requestLinePrefix.prefix(prefixLength)) else { return .other }
        guard let headEnd = findHeadEnd(bytes) else { return bytes.count >= maxHeadLength ? .other : .incomplete }
        guard headEnd <= maxHeadLength else { return .other }
        var lines: [Range<Int>] = []
        var start = 0
        var index = 0
        while index + 1 < headEnd {
            if bytes[index] == 13 {
                guard bytes[index + 1] == 10 else { return .other }
                lines.append(start..<index)
                index += 2
                start = index
            } else {
                guard bytes[index] != 10 else { return .other }  // a bare LF
                index += 1
            }
        }
        guard let requestLine = lines.first, let target = Self.target(bytes[requestLine]) else { return .other }
        var request = WebSocketUpgradeRequest(target: target, key: "")
        var keys = 0
        var versionIs13 = false
        var versions = 0
        var connectionUpgrade = false
        var upgradeWebSocket = false
        for line in lines.dropFirst() {
            guard let (name, value) = Self.field(bytes[line]) else { return .other }
            switch name {
            case "sec-websocket-key":
                keys += 1
                request.key = value
            case "sec-websocket-version":
                versions += 1
                versionIs13 = value == "13"
            case "connection":
                connectionUpgrade = connectionUpgrade || Self.listContains(value, "upgrade")
            case "upgrade":
                upgradeWebSocket = upgradeWebSocket || Self.listContains(value, "websocket")
            case "authorization":
                if request.authorization == nil { request.authorization = value }
            case "origin":
                if request.origin == nil { request.origin = value }
            case "host":
                if request.host == nil { request.host = value }
            case "content-length", "transfer-encoding", "expect":
                return .other
            default:
                continue
            }
        }
        guard keys == 1, !request.key.isEmpty, versions == 1, versionIs13, connectionUpgrade, upgradeWebSocket else { return .other }
        return .upgrade(request, headLength: headEnd + 2)
    }

    /// The index of the CR of the `\r\n\r\n` that ends the head (nil: not there yet).
    private static func findHeadEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index + 2
        }
        return nil
    }

    /// The target of `GET <target> HTTP/1.1` when its path is `/ws`.
    private static func target(_ line: Slice<UnsafeRawBufferPointer>) -> String? {
        guard line.count > requestLinePrefix.count + versionSuffix.count, line.suffix(versionSuffix.count).elementsEqual(versionSuffix)
        else { return nil }
        let target = line.dropFirst(requestLinePrefix.count).dropLast(versionSuffix.count)
        guard target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        let path = target.prefix { $0 != UInt8(ascii: "?") }
        guard path.elementsEqual("/ws".utf8) else { return nil }
        return String(decoding: target, as: UTF8.self)
    }

    /// A header line's lowercased name and trimmed value; nil for anything unusual.
    private static func field(_ line: Slice<UnsafeRawBufferPointer>) -> (String, String)? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else { return nil }
        let name = line[line.startIndex..<colon]
        // Token characters only (no spaces, so no folded lines either).
        guard name.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "(") && $0 != UInt8(ascii: ")") && $0 != UInt8(ascii: ",") })
        else { return nil }
        var value = line[(colon + 1)...]
        guard value.allSatisfy({ ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x09 }) else { return nil }
        while let first = value.first, first == 0x20 || first == 0x09 { value = value.dropFirst() }
        while let last = value.last, last == 0x20 || last == 0x09 { value = value.dropLast() }
        return (String(decoding: name, as: UTF8.self).lowercased(), String(decoding: value, as: UTF8.self))
    }

    /// Whether a comma-separated header value lists `token` (case-insensitive).
    private static func listContains(_ value: String, _ token: String) -> Bool {
        value.split(separator: ",").contains { $0.trimmingWhitespace().lowercased() == token }
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
