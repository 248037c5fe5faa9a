import Foundation

/// Milliseconds from microseconds, to the microsecond.
func ms(_ micros: UInt64) -> Double { round3(Double(micros) / 1000) }

func round3(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

func round1(_ value: Double) -> Double { (value * 10).rounded() / 10 }

/// A whole number without decimals, anything else with two.
func format(_ value: Double) -> String {
    value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)
}

/// Writes a line to standard error (progress and summaries; stdout carries the results).
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Writes a result line to standard output, unbuffered.
func printResult(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
