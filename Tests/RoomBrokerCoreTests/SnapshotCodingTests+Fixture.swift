import ChatWire
import SocketIO
import XCTest

@testable import RoomBrokerCore

/// A snapshot written by an earlier build: a rolling upgrade restarts the standby first, and the new
/// standby loads the old active's state. So a field of the state may go (its key is skipped), and a new
/// one needs a default when its key is absent; anything else needs a new format version and a
/// migration. `CHAT_WRITE_SNAPSHOT_FIXTURE=1 swift test --filter Fixture` rewrites the fixture (only
/// when the format version changes on purpose; keep the old file for the migration's test).
extension SnapshotCodingTests {
    static let fixtureFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Fixtures"
    )
    static let fixtureSnapshot = fixtureFolder.appendingPathComponent("snapshot-v\(SnapshotFormat.version).bin")
    static let fixturePasswords = fixtureFolder.appendingPathComponent(
        "snapshot-v\(SnapshotFormat.version)-passwords.json"
    )

    func testASnapshotWrittenByAnEarlierBuildLoadsAndServes() throws {
        if ProcessInfo.processInfo.environment["CHAT_WRITE_SNAPSHOT_FIXTURE"] == "1" {
            let (harness, passwords) = try realisticHarness(longText: "a long text, shortened for the fixture")
            try FileManager.default.createDirectory(at: Self.fixtureFolder, withIntermediateDirectories: true)
            try Data(try harness.engine.snapshot().encoded()).write(to: Self.fixtureSnapshot)
            try JSONEncoder().encode(passwords).write(to: Self.fixturePasswords)
        }
        let bytes = [UInt8](try Data(contentsOf: Self.fixtureSnapshot))
        let passwords = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: Self.fixturePasswords))
        let decoded = try BrokerSnapshot.decode(bytes)
        let again = try BrokerSnapshot.decode(try decoded.encoded())
        XCTAssertEqual(again.registry.rooms.keys.sorted(), decoded.registry.rooms.keys.sorted())
        XCTAssertEqual(again.registry.storedBytes, decoded.registry.storedBytes)
        XCTAssertEqual(
            decoded.registry.sessionsInGrace,
            3,
            "gw-b's connection 4 dropped: kept in its three rooms for the grace"
        )

        var restored = EngineHarness()
        restored.engine = BrokerEngine(snapshot: decoded, logger: restored.recorder.logger)
        XCTAssertEqual(Set(restored.engine.registry.rooms.keys), Set(passwords.keys))
        let lobby = try XCTUnwrap(passwords["lobby"])
        let join = restored.send(
            .join(room: "lobby", password: lobby, name: "after the upgrade", since: 0),
            gateway: "gw-c",
            connection: 9
        )
        let history = try XCTUnwrap(EngineHarness.json(join)["history"]?.arrayValue).compactMap {
            $0["text"]?.stringValue
        }
        XCTAssertEqual(history.first, "hello")
        XCTAssertTrue(history.contains("via http"))
        let wrong = restored.send(
            .join(room: "lobby", password: "wrong", name: "mallory"),
            gateway: "gw-b",
            connection: 50
        )
        XCTAssertEqual(EngineHarness.failure(wrong), .wrongPassword)
    }
}
