import Foundation
import Logging
import SwitchboardServer
import Testing

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
}
