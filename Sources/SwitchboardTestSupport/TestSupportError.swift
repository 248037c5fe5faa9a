/// A test fixture that could not be set up (a server that did not start, a missing binary).
public struct TestSupportError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
