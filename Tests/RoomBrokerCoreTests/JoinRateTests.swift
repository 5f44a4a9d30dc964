import ChatWire
import SocketIO
import XCTest

@testable import RoomBrokerCore

/// The per-address budget of joins, resumes and creates (``RoomRegistryConfiguration/joinBurstPerClient``):
/// one token bucket per client address key, shared by its connections on every gateway, on the broker's
/// monotonic clock, and part of the state a standby copies.
final class JoinRateTests: XCTestCase {
    static let address = "203.0.113.7"

    func configuration(burst: Int = 5, perSecond: Int = 2) -> RoomRegistryConfiguration {
        var configuration = RoomRegistryConfiguration()
        configuration.joinBurstPerClient = burst
        configuration.joinsPerClientPerSecond = perSecond
        configuration.createsPerConnection = 1_000
        configuration.createsPerClient = 1_000
        return configuration
    }

    /// A join of `room` as a new member `name` from `client` through `gateway`.
    func join(
        _ harness: inout EngineHarness,
        _ room: String,
        _ password: String,
        name: String,
        gateway: String = "gw-a",
        connection: UInt64,
        client: String = address,
        now: BrokerClock = 1_000
    ) -> BrokerOutput {
        harness.send(
            .join(room: room, password: password, name: name),
            gateway: gateway,
            connection: connection,
            client: client,
            now: now
        )
    }

    func testAnAddressOverItsBurstIsRefusedOnEveryGatewayUntilItsBucketRefills() throws {
        var harness = EngineHarness(configuration: configuration())
        let password = try harness.create("lobby", client: "198.51.100.1")
        for index in 0..<5 {
            // Different connections on different gateways: one address, one bucket.
            let joined = join(
                &harness,
                "lobby",
                password,
                name: "m\(index)",
                gateway: index % 2 == 0 ? "gw-a" : "gw-b",
                connection: UInt64(index + 1)
            )
            XCTAssertNil(EngineHarness.failure(joined), "join \(index) is within the burst")
        }
        let refused = join(&harness, "lobby", password, name: "m5", gateway: "gw-c", connection: 6)
        guard case .failure(let error) = refused.reply?.result else { return XCTFail("\(refused)") }
        XCTAssertEqual(error.code, .rateLimited)
        XCTAssertEqual(error.limit, .joinsPerAddress)
        XCTAssertTrue(error.message.contains("wait 1 s and try again"), error.message)
        XCTAssertTrue(refused.broadcasts.isEmpty, "a refused join announces nothing")
        XCTAssertTrue(
            harness.lines.contains { $0.contains("join-refused") && $0.contains("limit=joins-per-address") },
            "the log names the limit"
        )
        // Another address is not concerned; commands without an address (tools, tests) are not counted.
        XCTAssertNil(
            EngineHarness.failure(join(&harness, "lobby", password, name: "o", connection: 7, client: "192.0.2.1"))
        )
        XCTAssertNil(EngineHarness.failure(join(&harness, "lobby", password, name: "t", connection: 8, client: "")))
        // At 2 a second, a token is back after 500 ms (on the monotonic clock), and one only.
        XCTAssertEqual(
            EngineHarness.failure(join(&harness, "lobby", password, name: "m5", connection: 6, now: 1_499)),
            .rateLimited
        )
        XCTAssertNil(EngineHarness.failure(join(&harness, "lobby", password, name: "m5", connection: 6, now: 1_500)))
        XCTAssertEqual(
            EngineHarness.failure(join(&harness, "lobby", password, name: "m6", connection: 9, now: 1_500)),
            .rateLimited
        )
    }

    func testCreatesResumesAndRefusedJoinsDrawFromTheSameBucket() throws {
        var harness = EngineHarness(configuration: configuration(burst: 4))
        let password = try harness.create("lobby", client: Self.address)
        let wrong = join(&harness, "lobby", "wrong-guess", name: "m", connection: 1)
        XCTAssertEqual(EngineHarness.failure(wrong), .wrongPassword, "a join costs a token, right or wrong")
        let resume = harness.send(
            .resume(pid: "0123456789abcdef0123456789abcdef", instance: harness.engine.instance, since: nil),
            connection: 2,
            client: Self.address
        )
        XCTAssertEqual(EngineHarness.failure(resume), .replayUnavailable, "no such session, but a token spent")
        XCTAssertNil(EngineHarness.failure(join(&harness, "lobby", password, name: "m", connection: 3)))
        let create = harness.send(.create(name: "owner", room: "other", key: ""), connection: 4, client: Self.address)
        XCTAssertEqual(EngineHarness.failure(create), .rateLimited, "the fifth command of the burst of 4")
        let resumeAgain = harness.send(
            .resume(pid: "0123456789abcdef0123456789abcdef", instance: harness.engine.instance, since: nil),
            connection: 5,
            client: Self.address
        )
        XCTAssertEqual(EngineHarness.failure(resumeAgain), .rateLimited)
        // Messages are not joins: they stay allowed.
        let message = harness.send(.message(room: "lobby", text: "still here", key: ""), connection: 3)
        XCTAssertNil(EngineHarness.failure(message))
    }

    func testAStandbyFromASnapshotRefusesWhatTheActiveRefuses() throws {
        var active = EngineHarness(configuration: configuration(burst: 3, perSecond: 1))
        let password = try active.create("lobby")
        for index in 0..<3 {
            XCTAssertNil(
                EngineHarness.failure(
                    join(&active, "lobby", password, name: "m\(index)", connection: UInt64(index + 1))
                )
            )
        }
        var standby = EngineHarness()
        standby.engine = BrokerEngine(
            snapshot: try BrokerSnapshot.decode(try active.engine.snapshot().encoded()),
            logger: standby.recorder.logger
        )
        standby.greeted = active.greeted
        standby.nextRequestID = active.nextRequestID
        for (name, now): (String, BrokerClock) in [
            ("late", 1_000), ("later", 1_999), ("latest", 2_000), ("last", 2_000),
        ] {
            let (expected, actual) = active.sendMirrored(
                .join(room: "lobby", password: password, name: name),
                to: &standby,
                connection: 20,
                client: Self.address,
                now: now
            )
            XCTAssertEqual(actual, expected, "\(name) at \(now.monotonic)")
        }
        XCTAssertEqual(
            EngineHarness.failure(join(&standby, "lobby", password, name: "x", connection: 21, now: 2_000)),
            .rateLimited
        )
    }

    func testIdleAddressesAreForgottenOnceTheirBucketIsFullAgain() throws {
        var harness = EngineHarness(configuration: configuration(burst: 5, perSecond: 2))
        let password = try harness.create("lobby")
        for index in 0..<50 {
            _ = join(
                &harness,
                "lobby",
                password,
                name: "m\(index)",
                connection: UInt64(index + 1),
                client: "10.9.0.\(index)"
            )
        }
        XCTAssertEqual(harness.engine.registry.joinsByClient?.trackedKeys, 50)
        // One address spends its whole burst just before the purge (which runs with the tick every 10 s).
        for index in 0..<5 {
            _ = join(&harness, "lobby", password, name: "late\(index)", connection: UInt64(100 + index), now: 10_900)
        }
        _ = harness.engine.tick(now: 11_000)
        XCTAssertEqual(
            harness.engine.registry.joinsByClient?.trackedKeys,
            1,
            "the buckets full again are forgotten, the one spent 100 ms ago is kept"
        )
        _ = harness.engine.tick(now: 21_000)
        XCTAssertEqual(harness.engine.registry.joinsByClient?.trackedKeys, 0)
    }

    func testAStateOfAnEarlierBuildGetsTheDefaultLimitFromItsFirstJoin() throws {
        let bytes = [UInt8](try Data(contentsOf: SnapshotCodingTests.fixtureSnapshot))
        let passwords = try JSONDecoder().decode(
            [String: String].self,
            from: Data(contentsOf: SnapshotCodingTests.fixturePasswords)
        )
        let decoded = try BrokerSnapshot.decode(bytes)
        XCTAssertNil(decoded.registry.joinsByClient, "the fixture predates the limit")
        XCTAssertEqual(
            decoded.registry.configuration.joinBurstPerClient,
            RoomRegistryConfiguration().joinBurstPerClient
        )
        XCTAssertEqual(
            decoded.registry.configuration.joinsPerClientPerSecond,
            RoomRegistryConfiguration().joinsPerClientPerSecond
        )
        var restored = EngineHarness()
        restored.engine = BrokerEngine(snapshot: decoded, logger: restored.recorder.logger)
        let lobby = try XCTUnwrap(passwords["lobby"])
        let burst = decoded.registry.configuration.joinBurstPerClient
        for index in 0..<burst {
            let joined = join(
                &restored,
                "lobby",
                lobby,
                name: "n\(index)",
                gateway: "gw-c",
                connection: UInt64(100 + index)
            )
            XCTAssertNil(EngineHarness.failure(joined))
        }
        let refused = join(&restored, "lobby", lobby, name: "over", gateway: "gw-c", connection: 99)
        XCTAssertEqual(EngineHarness.failure(refused), .rateLimited)
    }
}
