import Foundation
import NIOWebSocket
import SwitchboardClient
import SwitchboardCore
import Testing

/// A WebSocket test client: JSON commands with matched replies, and the
/// events and close code the server sent.
final class LiveClient: @unchecked Sendable {
    let connection: WebSocketConnection
    private let lock = NSLock()
    private var frames: [[String: Any]] = []
    private var rawTexts: [String] = []
    private var closeCode: UInt16?
    private var closed = false
    private var nextID = 0
    private var reader: Task<Void, Never>?

    init(_ connection: WebSocketConnection) {
        self.connection = connection
        reader = Task { [weak self] in
            for await inbound in connection.inbound {
                guard let self else { return }
                self.record(inbound)
            }
            self?.markClosed()
        }
    }

    private func record(_ inbound: WebSocketConnection.Inbound) {
        withLock {
            switch inbound {
            case .text(let text):
                self.rawTexts.append(text)
                if let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] {
                    self.frames.append(object)
                }
            case .close(let code, _):
                self.closeCode = code
            case .binary:
                break
            }
        }
    }

    private func markClosed() {
        withLock { closed = true }
    }

    /// Connects to a node; with `token`, authenticates by header.
    static func connect(_ node: TestNode, token: String? = nil) async throws -> LiveClient {
        let headers = token.map { [("Authorization", "Bearer \($0)")] } ?? []
        return LiveClient(try await WebSocketConnection.connect(host: "127.0.0.1", port: node.port, headers: headers))
    }

    /// Connects and authenticates with a first `auth` frame.
    static func authenticated(_ node: TestNode, _ account: TestNode.Account) async throws -> LiveClient {
        let client = try await connect(node)
        let reply = try await client.command(["op": "auth", "token": account.accessToken])
        #expect(reply["ok"] as? Bool == true, "auth: \(reply)")
        return client
    }

    private func withLock<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// Sends a command with a fresh id and waits for its reply.
    func command(_ fields: [String: Any], timeout: Double = 20) async throws -> [String: Any] {
        let id = withLock {
            nextID += 1
            return nextID
        }
        var body = fields
        body["id"] = id
        try await send(body)
        return try await waitFor(timeout: timeout) { $0["re"] as? Int == id }
    }

    /// Sends a command without waiting; returns its id.
    @discardableResult
    func post(_ fields: [String: Any]) async throws -> Int {
        let id = withLock {
            nextID += 1
            return nextID
        }
        var body = fields
        body["id"] = id
        try await send(body)
        return id
    }

    func send(_ object: [String: Any]) async throws {
        let data = try JSONSerialization.data(withJSONObject: object)
        try await connection.send(text: String(decoding: data, as: UTF8.self))
    }

    /// Waits for the first received frame matching `predicate` (and removes it).
    func waitFor(timeout: Double = 20, _ predicate: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let found: [String: Any]? = withLock {
                if let index = frames.firstIndex(where: predicate) { return frames.remove(at: index) }
                return nil
            }
            if let found { return found }
            if withLock({ closed }) { break }
            try await Task.sleep(nanoseconds: 2_000_000)
        }
        let seen = withLock { frames }
        throw SwitchboardError(.internalError, "no matching frame in \(timeout) s; have \(seen.prefix(5))")
    }

    /// Waits for an event `ev`.
    func event(_ name: String, timeout: Double = 20, where predicate: @escaping ([String: Any]) -> Bool = { _ in true }) async throws -> [String: Any]
    {
        try await waitFor(timeout: timeout) { $0["ev"] as? String == name && predicate($0) }
    }

    /// Frames received so far that match, without removing them.
    func received(_ predicate: ([String: Any]) -> Bool) -> [[String: Any]] {
        withLock { frames.filter(predicate) }
    }

    /// Every `message` event received so far for a conversation, in arrival order.
    func messageSeqs(_ conversation: String) -> [Int] {
        received { $0["ev"] as? String == "message" && ($0["message"] as? [String: Any])?["conv"] as? String == conversation }
            .compactMap { ($0["message"] as? [String: Any])?["seq"] as? Int }
    }

    /// Waits until the server closed the connection; returns the close code it sent.
    func waitForClose(timeout: Double = 10) async -> UInt16? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if withLock({ closed }) { break }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
        return withLock { closeCode }
    }

    var isClosed: Bool { withLock { closed } }

    func close() async {
        await connection.close()
        reader?.cancel()
    }
}
