import ChatAPI
import ChatWire
import XCTest

final class TrustedProxiesTests: XCTestCase {
    private func address(_ text: String) -> ClientAddress {
        ClientAddress(text) ?? .unspecified
    }

    private let proxies = TrustedProxies(["10.0.0.0/8", "2001:db8:ffff::/48"].compactMap { AddressRange($0) })

    func testHeadersAreIgnoredUnlessThePeerIsATrustedProxy() {
        let peer = address("198.51.100.7")
        XCTAssertEqual(proxies.client(peer: peer, forwarded: ["for=1.2.3.4"], xForwardedFor: ["5.6.7.8"]), peer)
        XCTAssertEqual(
            TrustedProxies().client(peer: address("10.0.0.1"), forwarded: [], xForwardedFor: ["5.6.7.8"]),
            address("10.0.0.1")
        )
    }

    func testTheRightmostAddressThatIsNotATrustedProxyIsTheClient() {
        let peer = address("10.0.0.1")
        XCTAssertEqual(
            proxies.client(peer: peer, forwarded: [], xForwardedFor: ["203.0.113.9"]),
            address("203.0.113.9")
        )
        // The client wrote "6.6.6.6" itself; the trusted proxy 10.0.0.2 saw 203.0.113.9.
        XCTAssertEqual(
            proxies.client(peer: peer, forwarded: [], xForwardedFor: ["6.6.6.6, 203.0.113.9", "10.0.0.2"]),
            address("203.0.113.9")
        )
        XCTAssertEqual(
            proxies.client(peer: peer, forwarded: [], xForwardedFor: ["10.0.0.3,10.0.0.2"]),
            address("10.0.0.3"),
            "only proxies: the last one"
        )
        XCTAssertEqual(proxies.client(peer: peer, forwarded: [], xForwardedFor: []), peer)
        XCTAssertEqual(
            proxies.client(peer: peer, forwarded: [], xForwardedFor: ["garbage, 10.0.0.2"]),
            address("10.0.0.2"),
            "an unreadable hop stops the walk at the last trusted one"
        )
    }

    func testForwardedHeaderWinsAndIsParsedPerRFC7239() {
        let peer = address("10.0.0.1")
        XCTAssertEqual(
            proxies.client(
                peer: peer,
                forwarded: ["for=192.0.2.60;proto=http;by=203.0.113.43"],
                xForwardedFor: ["5.5.5.5"]
            ),
            address("192.0.2.60")
        )
        XCTAssertEqual(
            proxies.client(peer: peer, forwarded: [#"For="[2001:db8:cafe::17]:4711""#], xForwardedFor: []),
            address("2001:db8:cafe::17")
        )
        XCTAssertEqual(
            proxies.client(peer: peer, forwarded: [#"for="192.0.2.43:47011", for=10.0.0.9"#], xForwardedFor: []),
            address("192.0.2.43")
        )
        XCTAssertEqual(proxies.client(peer: peer, forwarded: ["for=unknown"], xForwardedFor: []), peer)
        XCTAssertEqual(
            proxies.client(peer: peer, forwarded: ["for=_hidden, for=10.0.0.9"], xForwardedFor: []),
            address("10.0.0.9")
        )
        XCTAssertEqual(
            proxies.client(peer: peer, forwarded: [#"for="a,b";by=x, for=198.51.100.1"#], xForwardedFor: []),
            address("198.51.100.1"),
            "commas inside quotes do not split"
        )
        XCTAssertEqual(
            proxies.client(peer: peer, forwarded: ["proto=https"], xForwardedFor: ["5.5.5.5"]),
            peer,
            "an element without for= stops the walk"
        )
    }

    func testIPv6ProxiesAndLongChainsAreBounded() {
        let peer = address("2001:db8:ffff::1")
        XCTAssertEqual(
            proxies.client(peer: peer, forwarded: [], xForwardedFor: ["2001:db8:1:2::5"]),
            address("2001:db8:1:2::5")
        )
        let chain = Array(repeating: "10.0.0.7", count: 10_000).joined(separator: ",")
        XCTAssertEqual(
            proxies.client(peer: address("10.0.0.1"), forwarded: [], xForwardedFor: ["1.1.1.1," + chain]),
            address("10.0.0.7"),
            "at most \(TrustedProxies.maxHops) hops are read"
        )
    }
}
