import HTTPTypes
import SwitchboardCore
import Testing

@testable import SwitchboardServer

/// Issue 12, item 8: the client address of rate limits behind trusted proxies.
@Suite("Client address behind proxies")
struct ClientAddressResolverTests {
    let resolver = ClientAddressResolver(proxies: CIDR.ranges("10.0.0.0/8, 127.0.0.1, fd00::/8"), header: .xForwardedFor)

    func headers(_ pairs: (String, String)...) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return fields
    }

    @Test func cidrRangesParseAndMatch() throws {
        let v4 = try #require(CIDR("192.168.4.0/22"))
        #expect(v4.contains(IPAddress("192.168.7.255")!))
        #expect(!v4.contains(IPAddress("192.168.8.0")!))
        let v6 = try #require(CIDR("2001:db8::/32"))
        #expect(v6.contains(IPAddress("2001:db8:ffff::1")!))
        #expect(!v6.contains(IPAddress("2001:db9::1")!))
        #expect(!v6.contains(IPAddress("192.168.4.1")!))
        #expect(CIDR("::ffff:10.1.2.3")?.contains(IPAddress("10.1.2.3")!) == true)
        for bad in ["", "10.0.0.0/33", "::/129", "10.0.0/8", "10.0.0.0/-1", "example.com", "10.0.0.0/8/1", "1.2.3.4/ 8"] {
            #expect(CIDR(bad) == nil, "\(bad)")
        }
        #expect(throws: SwitchboardError.self) { try CIDR.list("10.0.0.0/8,nope") }
    }

    @Test func anUntrustedPeerIsTheClientWhateverItSends() {
        let spoofed = headers(("X-Forwarded-For", "203.0.113.7"), ("Forwarded", "for=203.0.113.8"))
        #expect(resolver.resolve(peer: "198.51.100.1", headers: spoofed) == "198.51.100.1")
        #expect(ClientAddressResolver().resolve(peer: "127.0.0.1", headers: spoofed) == "127.0.0.1")
    }

    @Test func theRightmostUntrustedHopIsTheClient() {
        // The client wrote the first entry itself; the trusted proxies appended the rest.
        let forwarded = headers(("X-Forwarded-For", "1.1.1.1, 203.0.113.7, 10.0.0.5"))
        #expect(resolver.resolve(peer: "10.0.0.2", headers: forwarded) == "203.0.113.7")
        // Several header lines count as one list.
        let split = headers(("X-Forwarded-For", "1.1.1.1"), ("X-Forwarded-For", "203.0.113.9:5555"))
        #expect(resolver.resolve(peer: "127.0.0.1", headers: split) == "203.0.113.9")
        // Only trusted hops: the leftmost is the client.
        #expect(resolver.resolve(peer: "10.0.0.2", headers: headers(("X-Forwarded-For", "10.9.9.9"))) == "10.9.9.9")
        // No header: the proxy itself.
        #expect(resolver.resolve(peer: "10.0.0.2", headers: HTTPFields()) == "10.0.0.2")
    }

    @Test func garbageStopsAtTheLastTrustedHopAndAddressesAreCanonical() {
        let garbage = headers(("X-Forwarded-For", "203.0.113.7, {evil}key, 10.0.0.5"))
        #expect(resolver.resolve(peer: "10.0.0.2", headers: garbage) == "10.0.0.5")
        let v6 = headers(("X-Forwarded-For", "2001:DB8:0:0:0:0:0:1"))
        #expect(resolver.resolve(peer: "fd00::1", headers: v6) == "2001:db8::1")
        #expect(resolver.resolve(peer: "::ffff:127.0.0.1", headers: headers(("X-Forwarded-For", "[2001:db8::2]:443"))) == "2001:db8::2")
    }

    @Test func forwardedIsReadOnlyWhenConfigured() {
        let rfc = ClientAddressResolver(proxies: CIDR.ranges("10.0.0.0/8"), header: .forwarded)
        let both = headers(
            ("X-Forwarded-For", "198.51.100.99"),
            ("Forwarded", #"for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711", for=10.1.1.1"#))
        #expect(rfc.resolve(peer: "10.0.0.2", headers: both) == "2001:db8:cafe::17")
        #expect(resolver.resolve(peer: "10.0.0.2", headers: both) == "198.51.100.99")
        #expect(rfc.resolve(peer: "10.0.0.2", headers: headers(("Forwarded", "for=unknown"))) == "10.0.0.2")
    }
}

extension CIDR {
    fileprivate static func ranges(_ text: String) -> [CIDR] { (try? CIDR.list(text)) ?? [] }
}
