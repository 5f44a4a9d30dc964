import ChatWire
import XCTest

@testable import RoomBrokerCore

/// Room creation is counted beyond one address key: per IPv6 /56 and /48 and IPv4 /24, and over all
/// clients, so a network's many addresses cannot create rooms as fast as that many subscribers.
final class CreationPrefixTests: XCTestCase {
    private func registry(createsPerClient: Int = 2, createsPerSecond: Int = 1_000) -> RoomRegistry {
        var configuration = RoomRegistryConfiguration()
        configuration.createsPerClient = createsPerClient
        configuration.createsPerSecond = createsPerSecond
        configuration.roomsPerClient = 1_000
        return RoomRegistry(configuration: configuration)
    }

    /// Creates a room from address key `client` on its own connection; the refusal's limit, or nil.
    private func create(
        _ registry: inout RoomRegistry,
        from client: String,
        _ id: Int,
        now: UInt64 = 1_000
    ) -> RateLimit? {
        do {
            _ = try registry.create(
                requestedRoom: "r\(id)",
                creatorName: "c",
                by: ConnectionKey(gateway: "gw", connectionID: UInt64(id)),
                client: client,
                now: BrokerClock(monotonic: now, wall: 0)
            )
            return nil
        } catch {
            return error.limit ?? .maxRooms
        }
    }

    func testAnIPv4Slash24CreatesSixteenAddressesWorth() {
        var rooms = registry()
        let refusals = (1...40).map { create(&rooms, from: "198.51.100.\($0)", $0) }
        XCTAssertEqual(refusals.prefix(32).compactMap { $0 }, [], "16 × 2 per /24")
        XCTAssertEqual(Set(refusals.dropFirst(32)), [.createsPerNetwork])
        XCTAssertNil(create(&rooms, from: "198.51.101.1", 100), "another /24")
    }

    func testAnIPv6Slash56AndSlash48HaveTheirOwnBudgets() {
        var rooms = registry()
        var refused: [RateLimit?] = []
        for subnet in 0..<10 { refused.append(create(&rooms, from: "2001:db8:7:\(subnet)::/64", subnet)) }
        XCTAssertEqual(refused.compactMap { $0 }, [.createsPerNetwork, .createsPerNetwork], "a /56 holds 4 × 2")
        // Other /56s of the same /48: 32 in all.
        var created = 8
        for site in 1..<8 {
            for subnet in 0..<4
            where create(&rooms, from: "2001:db8:7:\(site)0\(subnet)::/64", 100 + site * 10 + subnet) == nil {
                created += 1
            }
        }
        XCTAssertEqual(created, 32, "the /48 holds 16 × 2")
    }

    func testTheBrokerWideRateRefusesPastItsBurstThenRefills() {
        var rooms = registry(createsPerClient: 100, createsPerSecond: 1)
        let refusals = (1...11).map { create(&rooms, from: "203.0.\($0).1", $0) }
        XCTAssertEqual(refusals.prefix(10).compactMap { $0 }, [], "a burst of ten seconds' worth")
        XCTAssertEqual(refusals.last, .createsInAll)
        XCTAssertNil(create(&rooms, from: "203.0.99.1", 99, now: 2_000), "one more a second later")
    }

    /// A refused creation counts nothing; the broker's own tools (no address key) are not limited by
    /// prefix.
    func testAKeylessCreationHasNoPrefix() {
        XCTAssertTrue(RoomRegistry.creationPrefixKeys(of: "").isEmpty)
        XCTAssertTrue(RoomRegistry.creationPrefixKeys(of: "not an address").isEmpty)
        XCTAssertEqual(RoomRegistry.creationPrefixKeys(of: "192.0.2.77").map(\.key), ["192.0.2.0/24"])
        XCTAssertEqual(
            RoomRegistry.creationPrefixKeys(of: "2001:db8:1:2ff::/64").map(\.key),
            ["2001:db8:1:200::/56", "2001:db8:1::/48"]
        )
    }
}
