import Foundation

/// A JSON object that keeps its keys in insertion order, so that result
/// lines read the same from run to run (`scripts/bench` keeps them).
struct JSONObject {
    /// A value of the object.
    indirect enum Value: CustomStringConvertible {
        case int(Int)
        case double(Double)
        case string(String)
        case object(JSONObject)

        /// The value as JSON: whole doubles without a fraction, non-finite ones as null.
        var description: String {
            switch self {
            case .int(let value): return String(value)
            case .double(let value):
                return value.isFinite ? (value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)) : "null"
            case .string(let value):
                let data = (try? JSONSerialization.data(withJSONObject: [value], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
                return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
            case .object(let object): return object.serialized()
            }
        }
    }

    private(set) var entries: [(String, Value)] = []

    init(_ entries: [(String, Value)] = []) { self.entries = entries }

    subscript(key: String) -> Value? {
        get { entries.first { $0.0 == key }?.1 }
        set {
            if let index = entries.firstIndex(where: { $0.0 == key }) {
                if let newValue { entries[index].1 = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                entries.append((key, newValue))
            }
        }
    }

    /// One line of JSON.
    func serialized() -> String {
        "{" + entries.map { Value.string($0.0).description + ":" + $0.1.description }.joined(separator: ",") + "}"
    }
}
