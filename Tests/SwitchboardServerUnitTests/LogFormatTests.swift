import Foundation
import Logging
import Testing

@testable import SwitchboardServer

@Suite("Structured logs")
struct LogFormatTests {
    let time = Date(timeIntervalSince1970: 1_795_000_000)

    @Test func logfmtQuotesWhatNeedsIt() {
        let line = StructuredLogHandler.render(
            format: .logfmt, timestamp: time, level: .warning, message: "slow consumer: queue \"full\"", label: "switchboard",
            metadata: ["node": "n1", "conn": "n1/42"])
        #expect(line.hasPrefix("ts=2026-"))
        #expect(line.contains(#"level=warning msg="slow consumer: queue \"full\"" logger=switchboard conn=n1/42 node=n1"#))
    }

    @Test func jsonIsOneObjectPerLine() throws {
        let line = StructuredLogHandler.render(
            format: .json, timestamp: time, level: .info, message: "serving\nnow", label: "switchboard", metadata: ["node": "n1"])
        #expect(!line.contains("\n"))
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
        #expect(object?["msg"] == "serving\nnow")
        #expect(object?["node"] == "n1")
        #expect(object?["level"] == "info")
    }

    /// Issue 12, item 14: no value can break a logfmt line or hide text on a terminal.
    @Test func logfmtEscapesEveryControlCharacterAndTheSeparators() {
        let hostile = "a\rb\nc\td\u{1B}[31me\u{0}f\u{7F}g\u{85}h\u{2028}i\u{2029}j \"k\" \\l"
        let line = StructuredLogHandler.render(
            format: .logfmt, timestamp: time, level: .info, message: hostile, label: "switchboard", metadata: ["user": "\(hostile)"])
        for scalar in line.unicodeScalars {
            #expect(!StructuredLogHandler.mustEscape(scalar), "raw U+\(String(scalar.value, radix: 16)) in \(line)")
        }
        let expected = #""a\rb\nc\td\u001b[31me\u0000f\u007fg\u0085h\u2028i\u2029j \"k\" \\l""#
        #expect(line.contains("msg=" + expected), "\(line)")
        #expect(line.contains("user=" + expected), "\(line)")
        #expect(StructuredLogHandler.logfmtValue("plain") == "plain")
        #expect(StructuredLogHandler.logfmtValue("x\u{2028}") == #""x\u2028""#)
        let json = StructuredLogHandler.render(
            format: .json, timestamp: time, level: .info, message: hostile, label: "switchboard", metadata: [:])
        #expect(!json.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x2028 || $0.value == 0x2029 })
    }
}
