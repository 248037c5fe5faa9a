import Foundation

/// One `Range: bytes=…` request, resolved against a file's size (RFC 9110 §14).
enum ByteRange: Equatable {
    /// No usable Range header (absent, not bytes, several ranges): the whole file.
    case whole
    /// The bytes to send.
    case partial(ClosedRange<Int>)
    /// No byte of the range exists: 416.
    case unsatisfiable

    /// Reads `bytes=a-b`, `bytes=a-` and `bytes=-n`.
    static func parse(_ header: String?, size: Int) -> ByteRange {
        guard let header, header.hasPrefix("bytes=") else { return .whole }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(",") else { return .whole }
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { return .whole }
        if parts[0].isEmpty {
            guard let suffix = Int(parts[1]), suffix > 0 else { return parts[1].isEmpty ? .whole : .unsatisfiable }
            guard size > 0 else { return .unsatisfiable }
            return .partial(max(0, size - suffix)...(size - 1))
        }
        guard let start = Int(parts[0]), start >= 0 else { return .whole }
        guard start < size else { return .unsatisfiable }
        if parts[1].isEmpty { return .partial(start...(size - 1)) }
        guard let end = Int(parts[1]), end >= start else { return .whole }
        return .partial(start...min(end, size - 1))
    }
}
