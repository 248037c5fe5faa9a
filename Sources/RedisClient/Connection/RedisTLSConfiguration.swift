import NIOCore
import NIOSSL

/// TLS to Redis (`rediss://`): the server's certificate is always verified,
/// against `caFile` or the system's trust roots, and its name or IP address
/// must match.
public struct RedisTLSConfiguration: Sendable, Hashable {
    /// PEM file of the CA(s) that signed the server's certificate; nil uses the system's trust roots.
    public var caFile: String?
    /// The name the server's certificate must carry (and the SNI sent); nil uses the
    /// host connected to. An IP address is matched against the certificate's IP SANs.
    public var serverName: String?
    /// PEM certificate (chain) presented to a server that asks for one (`tls-auth-clients`).
    public var certificateFile: String?
    /// PEM private key of `certificateFile`.
    public var keyFile: String?

    public init(caFile: String? = nil, serverName: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.serverName = serverName
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    /// Reads the files and builds the TLS context. Fails with `tlsConfiguration`
    /// naming the file when one is missing or not valid PEM, so a node can refuse
    /// to start instead of retrying something that will never work.
    public func makeContext() throws(RedisError) -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let caFile {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw RedisError(code: .tlsConfiguration, message: "cannot read the Redis CA file \(caFile): \(error)")
            }
        }
        switch (certificateFile, keyFile) {
        case (nil, nil):
            break
        case (let certificateFile?, let keyFile?):
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
            } catch {
                throw RedisError(
                    code: .tlsConfiguration, message: "cannot read the Redis client certificate \(certificateFile): \(error)")
            }
            do {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            } catch {
                throw RedisError(code: .tlsConfiguration, message: "cannot read the Redis client key \(keyFile): \(error)")
            }
        default:
            throw RedisError(code: .tlsConfiguration, message: "a Redis client certificate needs both a certificate file and a key file")
        }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw RedisError(code: .tlsConfiguration, message: "invalid Redis TLS configuration: \(error)")
        }
    }

    /// The TLS handler for a connection to `host`: SNI and name check with
    /// `serverName` or the host, or, for an IP address, a check of the
    /// certificate's IP SANs against the address connected to.
    func makeHandler(context: NIOSSLContext, host: String) throws -> NIOSSLClientHandler {
        do {
            return try NIOSSLClientHandler(context: context, serverHostname: serverName ?? host)
        } catch let error as NIOSSLExtraError where error == .cannotUseIPAddressInSNI {
            return try NIOSSLClientHandler(context: context, serverHostname: nil)
        }
    }

    /// Whether an error message (of a connection, or of a discovery through
    /// sentinels or cluster seeds that lists several) names a failed TLS handshake.
    public static func isHandshakeFailure(_ message: String) -> Bool {
        message.hasPrefix("TLS") || message.contains(": TLS: ") || message.contains("TLS handshake with Redis")
    }

    /// A sentence naming the cause of a failed TLS handshake, for operators.
    static func explain(_ text: String, address: RedisConfiguration.Address, serverName: String?) -> String {
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "TLS: the certificate of Redis at \(address) is not signed by a trusted CA"
                + " (check --redis-ca-file): \(text)"
        }
        if text.contains("failedToValidateHostname") || text.contains("hostname") {
            return "TLS: the certificate of Redis at \(address) is not valid for \(serverName ?? "\(address)")"
                + " (check --redis-tls-server-name): \(text)"
        }
        if text.contains("CERTIFICATE_REQUIRED") || text.contains("HANDSHAKE_FAILURE") || text.contains("BAD_CERTIFICATE")
            || text.contains("UNKNOWN_CA")
        {
            return "TLS: Redis at \(address) refused this client's certificate"
                + " (check --redis-cert-file and --redis-key-file, and the server's tls-ca-cert-file): \(text)"
        }
        if text.contains("WRONG_VERSION_NUMBER") {
            return "TLS: Redis at \(address) does not speak TLS on this port (use its tls-port): \(text)"
        }
        return "TLS handshake with Redis at \(address) failed: \(text)"
    }
}
