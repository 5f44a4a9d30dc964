import ChatWire
import RoomBrokerCore
import XCTest

/// Event lines are sampled per client address key under a flood; refusals and other clients' lines
/// are not.
extension BrokerEngineTests {
    func testOneClientsFloodOfEventLinesIsSampledAndCounted() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.historySize = 10
        var harness = EngineHarness(configuration: configuration)
        let password = try harness.create("lobby")
        _ = harness.send(.join(room: "lobby", password: password, name: "flood"), connection: 1, client: "192.0.2.1")
        _ = harness.send(.join(room: "lobby", password: password, name: "ann"), connection: 2, client: "192.0.2.2")
        let flood = BrokerEngine.successLinesPerWindow + 100
        for index in 0..<flood {
            _ = harness.send(
                .message(room: "lobby", text: "spam \(index)", key: ""),
                connection: 1,
                client: "192.0.2.1"
            )
        }
        _ = harness.send(.message(room: "lobby", text: "hello", key: ""), connection: 2, client: "192.0.2.2")
        _ = harness.send(
            .join(room: "lobby", password: "wrong-password", name: "x"),
            connection: 1,
            client: "192.0.2.1"
        )

        let spam = harness.lines.filter { $0.contains(" message ") && $0.contains("spam ") }
        XCTAssertEqual(spam.count, BrokerEngine.successLinesPerWindow - 1, "the join took one of the sample")
        XCTAssertEqual(
            harness.engine.registry.rooms["lobby"]?.lastSeq,
            UInt64(2 + flood + 1),
            "two joins, every message and hello"
        )
        XCTAssertTrue(harness.lines.contains { $0.contains(" message ") && $0.contains("hello") }, "another client's")
        XCTAssertTrue(harness.lines.contains { $0.contains("join-refused") && $0.contains("192.0.2.1") }, "a refusal")
    }
}
