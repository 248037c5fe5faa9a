import Foundation
import Synchronization

/// A throwaway PKI made with the `openssl` CLI in a temporary folder: a CA,
/// a server certificate for `127.0.0.1` and `localhost` signed by it (and one
/// for the name `redis.test` only), a client
/// certificate signed by it, and an unrelated CA (for "wrong CA" tests).
public final class TestCertificates: Sendable {
    /// The folder holding every file.
    public let directory: String

    public var caFile: String { directory + "/ca.crt" }
    public var serverCertificateFile: String { directory + "/server.crt" }
    public var serverKeyFile: String { directory + "/server.key" }
    public var clientCertificateFile: String { directory + "/client.crt" }
    public var clientKeyFile: String { directory + "/client.key" }
    /// A server certificate for the name `redis.test` only (no IP address), for name checks.
    public var namedServerCertificateFile: String { directory + "/named.crt" }
    public var namedServerKeyFile: String { directory + "/named.key" }
    /// A CA that signed nothing here.
    public var otherCAFile: String { directory + "/other-ca.crt" }

    /// One set for the whole test process, made once off the cooperative
    /// pool (six RSA keys take seconds on a loaded machine).
    public static func shared() async throws -> TestCertificates {
        let task = sharedTask.withLock { task in
            if let task { return task }
            let made = Task { try await OffPool.run { try TestCertificates() } }
            task = made
            return made
        }
        return try await task.value
    }

    private static let sharedTask = Mutex<Task<TestCertificates, any Error>?>(nil)

    /// Generates everything (about a second: RSA 2048 keys). It blocks: from
    /// async code use `shared()`.
    public init() throws {
        directory = NSTemporaryDirectory() + "sb-tls-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for ca in ["ca", "other-ca"] {
            try openssl([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Switchboard test \(ca)",
                "-keyout", "\(directory)/\(ca).key", "-out", "\(directory)/\(ca).crt",
            ])
        }
        try issue("server", subject: "/CN=localhost", extensions: "subjectAltName=IP:127.0.0.1,DNS:localhost")
        try issue("named", subject: "/CN=redis.test", extensions: "subjectAltName=DNS:redis.test")
        try issue("client", subject: "/CN=switchboard-client", extensions: "extendedKeyUsage=clientAuth")
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A key and a certificate `name.crt` signed by the CA.
    private func issue(_ name: String, subject: String, extensions: String) throws {
        let extensionsFile = "\(directory)/\(name).ext"
        try extensions.write(toFile: extensionsFile, atomically: true, encoding: .utf8)
        try openssl([
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", subject,
            "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).csr",
        ])
        try openssl([
            "x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", caFile, "-CAkey", "\(directory)/ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", extensionsFile, "-out", "\(directory)/\(name).crt",
        ])
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestEnvironment.which("openssl"))
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestSupportError("openssl \(arguments.first ?? "") failed: \(String(decoding: output, as: UTF8.self))")
        }
    }
}
