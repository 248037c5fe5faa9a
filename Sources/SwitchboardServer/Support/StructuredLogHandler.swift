import Foundation
import Logging

/// Log lines as logfmt (`ts=… level=info msg="…" node=n1 conn=n1/42`) or as
/// one JSON object per line, on standard error. Metadata (node, connection,
/// user) is flattened into the line.
public struct StructuredLogHandler: LogHandler {
    /// The line format.
    public enum Format: String, Sendable, CaseIterable {
        case logfmt, json
    }

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let format: Format

    public init(label: String, format: Format, level: Logger.Level) {
        self.label = label
        self.format = format
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let line = Self.render(
            format: format, timestamp: Date(), level: event.level, message: "\(event.message)", label: label, metadata: merged)
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// ISO 8601 in UTC with milliseconds.
    static func isoTime(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon)) + "Z"
    }

    /// One line in the chosen format (pure, for tests).
    public static func render(
        format: Format, timestamp: Date, level: Logger.Level, message: String, label: String, metadata: Logger.Metadata
    ) -> String {
        let fields: [(String, String)] =
            [("ts", isoTime(timestamp)), ("level", level.rawValue), ("msg", message), ("logger", label)]
            + metadata.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") }
        switch format {
        case .json:
            var object: [String: String] = [:]
            for (key, value) in fields { object[key] = value }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            // Valid JSON either way, but U+2028/U+2029 end a line in JavaScript and some log viewers.
            return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\u{2028}", with: "\\u2028")
                .replacingOccurrences(of: "\u{2029}", with: "\\u2029")
        case .logfmt:
            return fields.map { key, value in "\(key)=\(logfmtValue(value))" }.joined(separator: " ")
        }
    }

    /// A logfmt value, quoted when it has to be. Inside quotes `\\` and `"`
    /// are escaped, `\n` `\r` `\t` by name, and every other control
    /// character (C0, DEL, C1) and the line and paragraph separators
    /// U+2028/U+2029 as `\uXXXX`: a value (a client's text, say) can never
    /// start a line of its own or hide what follows on a terminal.
    static func logfmtValue(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains { scalar in
                scalar == " " || scalar == "=" || scalar == "\"" || scalar == "\\" || mustEscape(scalar)
            }
        guard needsQuotes else { return value }
        var out = "\""
        out.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if mustEscape(scalar) {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Control characters (C0, DEL, C1) and U+2028/U+2029.
    static func mustEscape(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029
    }
}
