import ChatWire
import Prometheus
import RoomBrokerCore
import XCTest

/// What `RoomBroker --metrics` serves: counters found by a frame's kind or status byte, gauges set from
/// the broker's status, in the Prometheus text a scraper reads.
final class BrokerMetricsTests: XCTestCase {
    private func text(_ registry: PrometheusCollectorRegistry) -> String {
        String(decoding: registry.emitToBuffer(), as: UTF8.self)
    }

    /// The value of the sample `name` (with its labels, e.g. `x_total{kind="join"}`), or nil.
    private func value(_ sample: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.dropFirst(sample.count + 1))
        }
        return nil
    }

    func testCommandsRepliesAndBroadcastsAreCountedByTheirByte() {
        let registry = PrometheusCollectorRegistry()
        let metrics = BrokerMetrics(factory: PrometheusMetricsFactory(registry: registry))
        let join = WireCommand(requestID: 1, connectionID: 2, body: .join(room: "lobby", password: "p", name: "ann"))
            .encoded()
        for _ in 0..<3 { metrics.command(join) }
        metrics.command(WireCommand(requestID: 1, connectionID: 0, body: .listRooms(after: "", limit: 0)).encoded())
        metrics.command([3, 200])  // an unknown kind
        metrics.command([])
        metrics.reply(WireReply(kind: .join, requestID: 1, connectionID: 2, result: .success(.init())).encoded())
        metrics.reply(
            WireReply(kind: .join, requestID: 1, connectionID: 2, result: .failure(ChatError(.wrongPassword, "no")))
                .encoded()
        )
        metrics.reply(
            WireReply(kind: .hello, requestID: 1, connectionID: 0, result: .failure(ChatError(.notActive, "standby")))
                .encoded()
        )
        metrics.published(
            WireBroadcast(kind: .message, room: "lobby", seq: 1, gateway: "gw", connectionID: 2, payload: [1]).encoded()
        )
        metrics.published(
            WireBroadcast(kind: .head, room: "lobby", seq: 1, gateway: "", connectionID: 0, payload: []).encoded()
        )

        let text = text(registry)
        XCTAssertEqual(value(#"chat_broker_commands_total{kind="join"}"#, in: text), 3, text)
        XCTAssertEqual(value(#"chat_broker_commands_total{kind="list_rooms"}"#, in: text), 1)
        XCTAssertEqual(value(#"chat_broker_commands_total{kind="invalid"}"#, in: text), 2)
        XCTAssertEqual(value(#"chat_broker_commands_total{kind="status"}"#, in: text), 0)
        XCTAssertEqual(value(#"chat_broker_replies_total{code="ok"}"#, in: text), 1)
        XCTAssertEqual(value(#"chat_broker_replies_total{code="wrong_password"}"#, in: text), 1)
        XCTAssertEqual(value(#"chat_broker_replies_total{code="not_active"}"#, in: text), 1)
        XCTAssertEqual(value(#"chat_broker_broadcasts_total{kind="message"}"#, in: text), 1)
        XCTAssertEqual(value(#"chat_broker_broadcasts_total{kind="head"}"#, in: text), 1)
    }

    func testGaugesFollowTheStatusReport() {
        let registry = PrometheusCollectorRegistry()
        let metrics = BrokerMetrics(factory: PrometheusMetricsFactory(registry: registry))
        metrics.update(
            BrokerStatusReport(
                role: .active,
                term: 3,
                instance: "k3",
                rooms: 4,
                members: 9,
                connectedMembers: 7,
                gatewayCount: 2,
                replication: .init(state: .standbyInSync, heldOutputs: 5, unacknowledged: 6, sinceLastMs: 40)
            )
        )
        var text = text(registry)
        XCTAssertEqual(value(#"chat_broker_role{role="active"}"#, in: text), 1, text)
        XCTAssertEqual(value(#"chat_broker_role{role="standby"}"#, in: text), 0)
        XCTAssertEqual(value("chat_broker_term", in: text), 3)
        XCTAssertEqual(value("chat_broker_rooms", in: text), 4)
        XCTAssertEqual(value("chat_broker_members", in: text), 9)
        XCTAssertEqual(value("chat_broker_connected_members", in: text), 7)
        XCTAssertEqual(value("chat_broker_gateways", in: text), 2)
        XCTAssertEqual(value(#"chat_broker_replication{state="standby_in_sync"}"#, in: text), 1)
        XCTAssertEqual(value("chat_broker_replication_held_outputs", in: text), 5)
        XCTAssertEqual(value("chat_broker_replication_unacknowledged_updates", in: text), 6)
        XCTAssertEqual(value("chat_broker_replication_since_last_milliseconds", in: text), 40)

        metrics.update(BrokerStatusReport(role: .alone, term: 1, instance: "k3"))
        text = self.text(registry)
        XCTAssertEqual(value(#"chat_broker_role{role="active"}"#, in: text), 0)
        XCTAssertEqual(value(#"chat_broker_role{role="alone"}"#, in: text), 1)
        XCTAssertEqual(value(#"chat_broker_replication{state="standby_in_sync"}"#, in: text), 0)
        XCTAssertEqual(value("chat_broker_replication_since_last_milliseconds", in: text)?.isNaN, true)
    }

    /// The shard a broker owns is a labelled gauge of value 1 (the whole set of rooms: 0 of 1).
    func testTheShardIsALabelledGauge() throws {
        let registry = PrometheusCollectorRegistry()
        _ = BrokerMetrics(factory: PrometheusMetricsFactory(registry: registry), shard: try Shard(parsing: "1/3"))
        XCTAssertEqual(value(#"chat_broker_shard{index="1",count="3"}"#, in: text(registry)), 1, text(registry))
        let whole = PrometheusCollectorRegistry()
        _ = BrokerMetrics(factory: PrometheusMetricsFactory(registry: whole))
        XCTAssertEqual(value(#"chat_broker_shard{index="0",count="1"}"#, in: text(whole)), 1)
    }

    func testListenAddresses() {
        XCTAssertEqual(ListenAddress("127.0.0.1:9464"), ListenAddress("127.0.0.1:9464"))
        XCTAssertEqual(ListenAddress("127.0.0.1:9464")?.host, "127.0.0.1")
        XCTAssertEqual(ListenAddress("[::1]:9464")?.host, "::1")
        XCTAssertEqual(ListenAddress("[::1]:9464")?.description, "[::1]:9464")
        XCTAssertEqual(ListenAddress("localhost:0")?.port, 0)
        for bad in ["9464", ":9464", "::1:9464", "host:99999", "host:", "[::1:9464", "a b:1", "[]:1"] {
            XCTAssertNil(ListenAddress(bad), bad)
        }
    }
}
