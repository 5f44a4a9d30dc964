import ChatWire
import Crypto
import Foundation
import NIOCore
import Synchronization
import XCTest

@testable import GatewayCore

/// The gateway's status page: what it gathers and how often it asks, how it judges the brokers, and the
/// HTML it prints (escaped, no script, nothing loaded but its own style sheet).
final class GatewayStatusTests: XCTestCase {
    /// A clock the test moves, and what the sources were asked.
    private final class Fixture: Sendable {
        let now = Mutex<UInt64>(10_000)
        let asks = Atomic<Int>(0)
        let roomCounts = Atomic<Int>(0)
        /// What each broker answers when asked (nil: the request cannot be sent).
        let answers: Mutex<[BrokerStatusReport?]>
        /// The status made by ``status(rooms:)``, which the brokers' answers go to.
        let made = Mutex<GatewayStatus?>(nil)

        init(answers: [BrokerStatusReport?]) {
            self.answers = Mutex(answers)
        }

        func status(rooms: [String: Int] = ["lobby": 2, "quiet": 1]) -> GatewayStatus {
            let endpoints = answers.withLock { $0.indices.map { "tcp://10.0.0.\($0 + 1):5555" } }
            let status = GatewayStatus(
                sources: .init(
                    gatewayID: "gw-<b>1</b>",
                    brokerEndpoints: endpoints,
                    connections: { 3 },
                    localRooms: {
                        self.roomCounts.add(1, ordering: .relaxed)
                        return rooms
                    }
                ),
                clock: { self.now.withLock { $0 } }
            )
            made.withLock { $0 = status }
            return status
        }

        /// What the gateway's API passes to ``GatewayStatus/report(askingBrokers:)``: here every broker
        /// answers at once with its report (or fails).
        @Sendable func askBrokers() {
            asks.add(1, ordering: .relaxed)
            for (index, answer) in answers.withLock({ $0 }).enumerated() {
                let result: Result<WireReply.Success, ChatError> =
                    answer.map { report in
                        .success(.init(json: Array(try! JSONEncoder().encode(report))))
                    } ?? .failure(ChatError(.brokerUnavailable, "not connected"))
                made.withLock { $0 }?.brokerAnswered(index, result)
            }
        }

        func advance(_ milliseconds: UInt64) {
            now.withLock { $0 += milliseconds }
        }
    }

    private static let active = BrokerStatusReport(
        role: .active,
        term: 2,
        instance: "k3",
        rooms: 2,
        members: 3,
        connectedMembers: 3,
        gatewayCount: 2,
        gateways: [.init(id: "gw-<b>1</b>", members: 3, silentMs: 120), .init(id: "gw-2", members: 0, silentMs: 80)],
        updates: 40,
        replication: .init(state: .standbyInSync, heldOutputs: 1, unacknowledged: 1, sinceLastMs: 12)
    )
    private static let standby = BrokerStatusReport(
        role: .standby,
        term: 2,
        instance: "k3",
        rooms: 2,
        members: 3,
        connectedMembers: 3,
        gatewayCount: 2,
        gateways: [],
        updates: 40,
        replication: .init(state: .following, sinceLastMs: 9)
    )

    func testItGathersThisGatewayTheBrokersAndTheActiveBrokersGateways() async {
        let fixture = Fixture(answers: [Self.standby, Self.active])
        let report = await fixture.status().report(askingBrokers: fixture.askBrokers)
        XCTAssertEqual(report.gateway.id, "gw-<b>1</b>")
        XCTAssertEqual(report.gateway.connections, 3)
        XCTAssertEqual(report.gateway.roomCount, 2)
        XCTAssertEqual(report.gateway.members, 3)
        XCTAssertEqual(report.gateway.rooms, [.init(room: "lobby", members: 2), .init(room: "quiet", members: 1)])
        XCTAssertEqual(report.brokers.map(\.state), [.standby, .active])
        XCTAssertEqual(report.brokers.map(\.endpoint), ["tcp://10.0.0.1:5555", "tcp://10.0.0.2:5555"])
        XCTAssertEqual(report.brokers[1].term, 2)
        XCTAssertEqual(report.brokers[1].replication?.state, .standbyInSync)
        XCTAssertEqual(report.brokers[1].lastHeardMs, 0)
        XCTAssertEqual(report.gatewayCount, 2)
        XCTAssertEqual(report.gateways, Self.active.gateways)
        let decoded = try? JSONDecoder().decode(GatewayStatusReport.self, from: Data(GatewayStatus.json(report)))
        XCTAssertEqual(decoded, report, "/status.json carries the same data")
    }

    func testHammeringTheStatusAsksTheBrokersAtMostOncePerSecond() async {
        let fixture = Fixture(answers: [Self.active])
        let status = fixture.status()
        for _ in 0..<50 { _ = await status.report(askingBrokers: fixture.askBrokers) }
        XCTAssertEqual(fixture.asks.load(ordering: .relaxed), 1)
        XCTAssertEqual(fixture.roomCounts.load(ordering: .relaxed), 1, "the event loops are visited once too")
        fixture.advance(999)
        _ = await status.report(askingBrokers: fixture.askBrokers)
        XCTAssertEqual(fixture.asks.load(ordering: .relaxed), 1)
        fixture.advance(1)
        _ = await status.report(askingBrokers: fixture.askBrokers)
        XCTAssertEqual(fixture.asks.load(ordering: .relaxed), 2)
    }

    func testABrokerThatCannotBeAskedOrFellSilentIsUnreachable() async {
        let fixture = Fixture(answers: [Self.active, nil])
        let status = fixture.status()
        var report = await status.report(askingBrokers: fixture.askBrokers)
        XCTAssertEqual(report.brokers.map(\.state), [.active, .unreachable])
        XCTAssertNil(report.brokers[1].lastHeardMs)
        // The active stops answering (its answers no longer arrive); the old one holds for 3 s.
        fixture.answers.withLock { $0 = [] }
        fixture.advance(1_000)
        report = await status.report(askingBrokers: fixture.askBrokers)
        XCTAssertEqual(report.brokers[0].state, .active)
        XCTAssertEqual(report.brokers[0].lastHeardMs, 1_000)
        fixture.advance(BrokerStatusBoard.staleAfterMilliseconds)
        report = await status.report(askingBrokers: fixture.askBrokers)
        XCTAssertEqual(report.brokers[0].state, .unreachable)
        XCTAssertEqual(report.gatewayCount, 0, "no active answered: no gateways to show")
    }

    func testAnAnswerLargerThanTheLimitIsNotRead() async {
        var huge = Self.active
        huge.instance = String(repeating: "k", count: BrokerStatusReport.maxBytes)
        let fixture = Fixture(answers: [huge, Self.standby])
        let report = await fixture.status().report(askingBrokers: fixture.askBrokers)
        XCTAssertEqual(report.brokers.map(\.state), [.unreachable, .standby])
        XCTAssertNil(report.brokers[0].instance)
    }

    func testAFailureAfterTheLastAnswerMakesABrokerUnreachableAtOnce() {
        var board = BrokerStatusBoard(brokers: 1)
        _ = board.startRound()
        board.record(Self.active, from: 0, now: 100)
        XCTAssertEqual(board.brokers(endpoints: ["a"], now: 200).first?.state, .active)
        let round = board.startRound()
        XCTAssertFalse(board.isComplete(round))
        board.record(nil, from: 0, now: 300)
        XCTAssertTrue(board.isComplete(round))
        XCTAssertEqual(board.brokers(endpoints: ["a"], now: 300).first?.state, .unreachable)
        XCTAssertEqual(board.brokers(endpoints: ["a"], now: 300).first?.lastHeardMs, 200)
    }

    func testTheGatewaysShownAreThoseOfTheServingBrokerWithTheHighestTerm() {
        var board = BrokerStatusBoard(brokers: 2)
        var deposed = Self.active
        deposed.term = 1
        deposed.gatewayCount = 9
        board.record(deposed, from: 0, now: 100)
        board.record(Self.active, from: 1, now: 100)
        XCTAssertEqual(board.servingReport(now: 100)?.gatewayCount, Self.active.gatewayCount)
    }

    func testItListsTheBusiestRoomsAndCountsThemAll() async {
        let rooms = Dictionary(
            uniqueKeysWithValues: (0..<(GatewayStatus.maxRooms + 20)).map { ("room-\($0)", $0 % 7 + 1) }
        )
        let fixture = Fixture(answers: [])
        let report = await fixture.status(rooms: rooms).report(askingBrokers: fixture.askBrokers)
        XCTAssertEqual(report.gateway.roomCount, rooms.count)
        XCTAssertEqual(report.gateway.rooms.count, GatewayStatus.maxRooms)
        XCTAssertEqual(report.gateway.rooms.first?.members, 7)
        XCTAssertEqual(report.gateway.members, rooms.values.reduce(0, +))
    }

    func testThePageEscapesWhatItPrintsAndHasNoScript() async {
        var hostile = Self.active
        hostile.gateways = [
            .init(id: "<script>alert(1)</script>", members: 1, silentMs: 5),
            .init(id: "a\"b'c&d", members: 0, silentMs: 0),
        ]
        hostile.instance = "</td><img src=x onerror=alert(2)>"
        let fixture = Fixture(answers: [hostile])
        let html = GatewayStatusPage.html(
            await fixture.status(rooms: ["lobby": 1]).report(askingBrokers: fixture.askBrokers)
        )
        XCTAssertFalse(html.lowercased().contains("<script"), html)
        XCTAssertFalse(html.contains("<img"), html)
        XCTAssertFalse(html.contains("<b>"), "the gateway id is printed escaped")
        XCTAssertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), html)
        XCTAssertTrue(html.contains("a&quot;b&#39;c&amp;d"), html)
        XCTAssertTrue(html.contains("gw-&lt;b&gt;1&lt;/b&gt;"))
        XCTAssertTrue(html.contains("<span class=\"state active\">active</span>"))
        XCTAssertTrue(html.contains("standby in sync: 1 held, 1 unacknowledged, last ack 12 ms ago"), html)
        XCTAssertTrue(html.contains("<code>lobby</code>"))
    }

    func testTheContentSecurityPolicyAllowsTheInlineStyleSheetAndNothingElse() throws {
        let html = GatewayStatusPage.html(
            GatewayStatusReport(
                gateway: .init(id: "gw", connections: 0, uptimeSeconds: 0, roomCount: 0, members: 0, rooms: []),
                brokers: [],
                gatewayCount: 0,
                gateways: []
            )
        )
        let style = try XCTUnwrap(
            html.range(of: "<style>").flatMap { start in
                html.range(of: "</style>").map { String(html[start.upperBound..<$0.lowerBound]) }
            }
        )
        let hash = Data(SHA256.hash(data: Array(style.utf8))).base64EncodedString()
        let policy = GatewayStatusPage.contentSecurityPolicy
        XCTAssertTrue(policy.hasPrefix("default-src 'none'; style-src 'sha256-\(hash)'"), policy)
        XCTAssertFalse(policy.contains("script-src"))
        XCTAssertFalse(policy.contains("unsafe"))
    }

    func testTheJSONAndHTMLResponsesCarryTheirTypesAndHeaders() {
        let report = GatewayStatusReport(
            gateway: .init(id: "gw", connections: 0, uptimeSeconds: 0, roomCount: 0, members: 0, rooms: []),
            brokers: [],
            gatewayCount: 0,
            gateways: []
        )
        let html = GatewayAdminPage.statusResponse(report, format: .html)
        XCTAssertEqual(html.contentType, "text/html; charset=utf-8")
        XCTAssertEqual(html.headers.first(name: "content-security-policy"), GatewayStatusPage.contentSecurityPolicy)
        XCTAssertEqual(html.headers.first(name: "cache-control"), "no-store")
        let json = GatewayAdminPage.statusResponse(report, format: .json)
        XCTAssertEqual(json.contentType, "application/json")
        XCTAssertTrue(String(buffer: json.body).hasPrefix("{\"brokers\":[]"))
    }

    func testDurationsForAPerson() {
        XCTAssertEqual(GatewayStatusPage.duration(milliseconds: 120), "120 ms")
        XCTAssertEqual(GatewayStatusPage.duration(milliseconds: 3_450), "3.4 s")
        XCTAssertEqual(GatewayStatusPage.duration(milliseconds: 12 * 60_000 + 5), "12 min")
        XCTAssertEqual(GatewayStatusPage.duration(milliseconds: 2 * 3_600_000 + 5 * 60_000), "2 h 5 min")
    }
}
