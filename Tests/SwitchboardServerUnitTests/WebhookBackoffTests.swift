import Testing

@testable import SwitchboardServer

/// Retry delays and signatures of webhook deliveries, without a network.
@Suite("Webhook backoff and signature")
struct WebhookBackoffTests {
    @Test func delaysDoubleUpToTheCapWithEqualJitter() {
        let backoff = WebhookBackoff(initial: 1, maximum: 60)
        #expect(backoff.delay(afterAttempt: 1, random: 1) == 1)
        #expect(backoff.delay(afterAttempt: 1, random: 0) == 0.5)
        #expect(backoff.delay(afterAttempt: 4, random: 1) == 8)
        #expect(backoff.delay(afterAttempt: 4, random: 0.5) == 6)
        #expect(backoff.delay(afterAttempt: 7, random: 1) == 60)
        #expect(backoff.delay(afterAttempt: 1000, random: 0) == 30)
    }

    @Test func theSignatureIsTheHexHMACOfTheBody() {
        // RFC 4231 test case 2.
        let header = WebhookSignature.header(secret: "Jefe", body: Array("what do ya want for nothing?".utf8))
        #expect(header == "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(WebhookSignature.verify(header, secret: "Jefe", body: Array("what do ya want for nothing?".utf8)))
        #expect(!WebhookSignature.verify(header, secret: "Jefe", body: Array("what do ya want for nothing!".utf8)))
        #expect(!WebhookSignature.verify(header, secret: "jefe", body: Array("what do ya want for nothing?".utf8)))
    }
}
