import ChatAPI
import ChatWire
import XCTest

final class ClientAddressTests: XCTestCase {
    func testParsesAndPrintsIPv4AndIPv6() throws {
        XCTAssertEqual(ClientAddress("192.0.2.1")?.description, "192.0.2.1")
        XCTAssertEqual(ClientAddress("2001:DB8:0:0::1")?.description, "2001:db8::1")
        XCTAssertEqual(ClientAddress("::1")?.description, "::1")
        for bad in [
            "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4x", "[::1]", "1.2.3.4:80", "fe80::1%eth0", " 1.2.3.4",
            "unknown", "_hidden", String(repeating: "1", count: 100), "::1::2", "1.2.3.4\u{0}",
        ] {
            XCTAssertNil(ClientAddress(bad), bad)
        }
    }

    func testIPv4MappedIPv6IsIPv4() throws {
        let mapped = try XCTUnwrap(ClientAddress("::ffff:192.0.2.9"))
        XCTAssertTrue(mapped.isIPv4)
        XCTAssertEqual(mapped, ClientAddress("192.0.2.9"))
        XCTAssertEqual(mapped.rateLimitKey, "192.0.2.9")
        XCTAssertEqual(
            ClientAddress(bytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 10, 0, 0, 1]),
            ClientAddress("10.0.0.1")
        )
    }

    func testRateLimitKeyIsTheAddressForIPv4AndTheSlash64ForIPv6() throws {
        XCTAssertEqual(ClientAddress("203.0.113.7")?.rateLimitKey, "203.0.113.7")
        let a = try XCTUnwrap(ClientAddress("2001:db8:1:2:aaaa:bbbb:cccc:dddd"))
        let b = try XCTUnwrap(ClientAddress("2001:db8:1:2::1"))
        let c = try XCTUnwrap(ClientAddress("2001:db8:1:3::1"))
        XCTAssertEqual(a.rateLimitKey, "2001:db8:1:2::/64")
        XCTAssertEqual(a.rateLimitKey, b.rateLimitKey, "one /64, one key")
        XCTAssertNotEqual(a.rateLimitKey, c.rateLimitKey)
        XCTAssertNotEqual(a, b, "the addresses themselves stay distinct")
    }

    func testAnIPv6ClientCountsUnderItsSlash64Slash56AndSlash48() throws {
        XCTAssertEqual(ClientAddress("203.0.113.7")?.limitKeys.map(\.key), ["203.0.113.7"])
        let a = try XCTUnwrap(ClientAddress("2001:db8:1:2ff:aaaa::1"))
        XCTAssertEqual(a.limitKeys.map(\.scope), [.subscriber, .site, .network])
        XCTAssertEqual(a.limitKeys.map(\.key), ["2001:db8:1:2ff::/64", "2001:db8:1:200::/56", "2001:db8:1::/48"])
        XCTAssertEqual(a.limitKeys.first?.key, a.rateLimitKey)
    }

    func testRanges() throws {
        let ten = try XCTUnwrap(AddressRange("10.0.0.0/8"))
        XCTAssertTrue(ten.contains(try XCTUnwrap(ClientAddress("10.200.3.4"))))
        XCTAssertFalse(ten.contains(try XCTUnwrap(ClientAddress("11.0.0.1"))))
        XCTAssertFalse(ten.contains(try XCTUnwrap(ClientAddress("::ffff:b00:1"))))
        XCTAssertTrue(ten.contains(try XCTUnwrap(ClientAddress("::ffff:10.1.1.1"))), "IPv4-mapped clients are IPv4")
        XCTAssertEqual(AddressRange("10.1.2.3/8")?.description, "10.0.0.0/8", "host bits are cleared")
        let single = try XCTUnwrap(AddressRange("127.0.0.2"))
        XCTAssertTrue(single.contains(try XCTUnwrap(ClientAddress("127.0.0.2"))))
        XCTAssertFalse(single.contains(try XCTUnwrap(ClientAddress("127.0.0.3"))))
        let v6 = try XCTUnwrap(AddressRange("2001:db8::/32"))
        XCTAssertTrue(v6.contains(try XCTUnwrap(ClientAddress("2001:db8:ffff::1"))))
        XCTAssertFalse(v6.contains(try XCTUnwrap(ClientAddress("2001:db9::1"))))
        XCTAssertFalse(v6.contains(try XCTUnwrap(ClientAddress("10.0.0.1"))))
        XCTAssertTrue(try XCTUnwrap(AddressRange("0.0.0.0/0")).contains(try XCTUnwrap(ClientAddress("8.8.8.8"))))
        XCTAssertTrue(
            try XCTUnwrap(AddressRange("2001:db8::1:0/113")).contains(try XCTUnwrap(ClientAddress("2001:db8::1:7fff")))
        )
        XCTAssertFalse(
            try XCTUnwrap(AddressRange("2001:db8::1:0/113")).contains(try XCTUnwrap(ClientAddress("2001:db8::1:8000")))
        )
        for bad in ["10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "::/129", "x/8", "10.0.0.0/8/8", "10.0.0.0/0008"] {
            XCTAssertNil(AddressRange(bad), bad)
        }
    }
}
