import ChatWire
import RoomBrokerCore
import XCTest

/// The status report (and so `/status` and the metrics) shows what the state uses of each budget.
extension BrokerBudgetTests {
    func testTheStatusReportShowsEveryBudget() throws {
        var configuration = RoomRegistryConfiguration()
        configuration.sessionGraceMilliseconds = 60_000
        var harness = EngineHarness(configuration: configuration)
        let password = try harness.create("lobby")
        _ = harness.send(.join(room: "lobby", password: password, name: "ann"), connection: 1)
        _ = harness.send(.join(room: "lobby", password: password, name: "bob"), connection: 2)
        _ = harness.send(.message(room: "lobby", text: "hi", key: "k-1"), connection: 1)
        _ = harness.send(
            .join(room: "lobby", password: "wrong-password", name: "eve"),
            connection: 3,
            client: "192.0.2.9"
        )
        _ = harness.send(.disconnect, connection: 2)

        let report = harness.engine.statusReport(role: .alone, now: 1_000)
        let budgets = try XCTUnwrap(report.budgets)
        XCTAssertEqual(budgets.map(\.name), BudgetName.allCases)
        func budget(_ name: BudgetName) -> BrokerStatusReport.Budget? { budgets.first { $0.name == name } }
        XCTAssertEqual(budget(.rooms), .init(.rooms, used: 1, limit: configuration.maxRooms))
        XCTAssertEqual(budget(.disconnectedMembers)?.used, 1, "bob, kept for the grace")
        XCTAssertEqual(budget(.graceEntries)?.used, 1)
        XCTAssertEqual(budget(.messageKeys)?.used, 1)
        XCTAssertEqual(budget(.createKeys)?.limit, 10_000)
        XCTAssertEqual(budget(.storedBytes)?.used, harness.engine.registry.storedBytes)
        XCTAssertEqual(budget(.storedBytes)?.limit, configuration.memoryBudget)
        XCTAssertGreaterThanOrEqual(
            budget(.limiterKeys)?.used ?? 0,
            2,
            "eve's wrong password, per connection and address"
        )
        XCTAssertGreaterThan(budget(.ledgerEntries)?.used ?? 0, 0)
        // A gateway of an earlier build ignores the field; this build reads a report without it.
        let json = try JSONEncoder().encode(report)
        XCTAssertEqual(BrokerStatusReport(json: Array(json))?.budgets, budgets)
        var old = report
        old.budgets = nil
        XCTAssertEqual(BrokerStatusReport(json: Array(try JSONEncoder().encode(old)))?.budgets, nil)
    }
}
