import SwitchboardCore

/// `X-Switchboard-Signature: sha256=<hex HMAC-SHA256 of the body>`.
enum WebhookSignature {
    /// The header value for `body` under `secret`.
    static func header(secret: String, body: [UInt8]) -> String {
        "sha256=" + Base64.hex(Crypto.hmacSHA256(key: Array(secret.utf8), message: body))
    }

    /// Whether `header` is the signature of `body` under `secret` (constant-time).
    static func verify(_ header: String, secret: String, body: [UInt8]) -> Bool {
        Crypto.constantTimeEquals(Array(header.utf8), Array(self.header(secret: secret, body: body).utf8))
    }
}
