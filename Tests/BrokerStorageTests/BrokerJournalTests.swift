import ChatWire
import Foundation
import Logging
import RoomBrokerCore
import XCTest

@testable import BrokerStorage

/// The journal without sockets: a ``BrokerNode`` alone journals what it applies; reopening the folder and
/// replaying gives the same state, byte for byte; damage is cut or set aside as documented.
final class BrokerJournalTests: XCTestCase {
    var folder = ""
    let logger = Logger(label: "journal-test")

    override func setUp() {
        folder = NSTemporaryDirectory() + "journal-test-" + UUID().uuidString
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// A broker alone that journals, started at `time`.
    func journalingNode(at time: UInt64) -> BrokerNode {
        BrokerNode(
            configuration: .init(),
            gatewayTimeoutMilliseconds: 5_000,
            pair: nil,
            journaling: true,
            logger: logger,
            now: BrokerClock(integerLiteral: time)
        )
    }

    /// A broker alone, journaling, fed a few rooms and messages; returns it after the journal is closed.
    func runNode(mode: FsyncMode, messages: Int = 20, snapshotEvery: Int = 64 << 20) throws -> BrokerNode {
        let (journal, state) = try BrokerJournal.open(path: folder, mode: mode, logger: logger)
        XCTAssertNil(state)
        var node = journalingNode(at: 1_000)
        var refused: [String] = []
        var password = ""
        func perform(_ actions: [NodeAction]) {
            for case .journal(let entry) in actions + node.flushUpdates() { journal.append(entry) }
            for case .reply(_, let frame) in actions {
                guard let reply = try? WireReply.decode(frame) else { continue }
                switch reply.result {
                case .failure(let error): refused.append("\(error)")
                case .success(let success):
                    let json = try? JSONSerialization.jsonObject(with: Data(success.json)) as? [String: Any]
                    if let created = json?["password"] as? String { password = created }
                }
            }
            if !journal.isSaving, let snapshot = node.diskSnapshot(everyBytes: snapshotEvery) {
                journal.saveSnapshot(snapshot, base: node.lastUpdate)
            }
        }
        perform(node.start())
        var id: UInt32 = 1
        func send(_ body: WireCommand.Body, at time: UInt64) {
            id += 1
            let frame = WireCommand(requestID: id, connectionID: 7, client: "127.0.0.1", body: body).encoded()
            perform(node.command(identity: Array("gw-1".utf8), frame: frame, now: BrokerClock(integerLiteral: time)))
        }
        send(.hello(gatewayName: "gw-1"), at: 1_000)
        send(.create(name: "ann", room: "lobby", key: ""), at: 1_001)
        send(.join(room: "lobby", password: password, name: "ann"), at: 1_001)
        for index in 0..<messages {
            send(
                .message(room: "lobby", text: "message \(index) " + String(repeating: "x", count: 500), key: ""),
                at: 1_002 + UInt64(index)
            )
        }
        perform(node.tick(now: BrokerClock(integerLiteral: 5_000)))
        journal.close()
        XCTAssertEqual(refused, [])
        XCTAssertEqual(node.engine.registry.rooms["lobby"]?.lastSeq, UInt64(messages) + 1, "a join, then the messages")
        return node
    }

    func reopen(mode: FsyncMode) throws -> (BrokerNode, BrokerNode.Recovery) {
        let (journal, state) = try BrokerJournal.open(path: folder, mode: mode, logger: logger)
        defer { journal.close() }
        var node = journalingNode(at: 1)
        let recovered = try XCTUnwrap(state)
        let recovery = node.recover(recovered, now: BrokerClock(integerLiteral: 1))
        return (node, recovery)
    }

    func testReplayGivesTheSameStateByteForByte() throws {
        let original = try runNode(mode: .always)
        let (recovered, recovery) = try reopen(mode: .always)
        XCTAssertEqual(recovery.position, original.lastUpdate)
        XCTAssertFalse(recovery.newInstance, "fsync always keeps the instance")
        XCTAssertEqual(try recovered.engine.snapshot().encoded(), try original.engine.snapshot().encoded())
    }

    func testWithoutFsyncAlwaysTheStateTakesANewInstance() throws {
        let original = try runNode(mode: .batch)
        let (recovered, recovery) = try reopen(mode: .batch)
        XCTAssertTrue(recovery.newInstance)
        XCTAssertNotEqual(recovered.engine.instance, original.engine.instance)
        XCTAssertEqual(
            recovered.engine.registry.rooms["lobby"]?.lastSeq,
            original.engine.registry.rooms["lobby"]?.lastSeq
        )
    }

    func testSnapshotsRemoveWhatTheyMakeUnneededAndKeepTheOlderOne() throws {
        let original = try runNode(mode: .batch, messages: 400, snapshotEvery: 20_000)
        let files = try DataDirectory(path: folder).files()
        let snapshots = files.filter { if case .snapshot = $0 { return true } else { return false } }
        XCTAssertEqual(snapshots.count, 2, "\(files)")
        // Every segment still kept holds updates after the older snapshot.
        let (recovered, _) = try reopen(mode: .batch)
        XCTAssertEqual(recovered.lastUpdate, original.lastUpdate)
        XCTAssertEqual(
            recovered.engine.registry.rooms["lobby"]?.lastSeq,
            original.engine.registry.rooms["lobby"]?.lastSeq
        )
    }

    func testATornTailIsCutAndTheRestReplays() throws {
        let original = try runNode(mode: .always)
        let segment = try XCTUnwrap(
            try DataDirectory(path: folder).files().last { if case .segment = $0 { true } else { false } }
        )
        let path = folder + "/" + segment.name
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data([0, 0, 1, 0, 9, 9]))  // a record header cut short
        try handle.close()
        let (recovered, recovery) = try reopen(mode: .always)
        XCTAssertEqual(recovery.position, original.lastUpdate)
        XCTAssertFalse(recovery.newInstance, "a torn last record was never acknowledged")
        XCTAssertEqual(try recovered.engine.snapshot().encoded(), try original.engine.snapshot().encoded())
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int, try sizeBefore(path))
    }

    private func sizeBefore(_ path: String) throws -> Int {
        // The cut leaves the file at its last whole record: reading it again finds no damage.
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var offset = FileHeader.size
        while case .record(_, let size) = JournalRecord.read(bytes, at: offset) { offset += size }
        return offset
    }

    func testAFlippedByteCutsThereAndTheStateTakesANewInstance() throws {
        let original = try runNode(mode: .always)
        let segment = try XCTUnwrap(
            try DataDirectory(path: folder).files().last { if case .segment = $0 { true } else { false } }
        )
        let path = folder + "/" + segment.name
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let marker = Array("message 10 ".utf8)
        let at = try XCTUnwrap(
            (0..<(bytes.count - marker.count)).first { Array(bytes[$0..<($0 + marker.count)]) == marker }
        )
        bytes[at] ^= 0x20
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let (recovered, recovery) = try reopen(mode: .always)
        XCTAssertLessThan(recovery.position, original.lastUpdate)
        XCTAssertTrue(recovery.newInstance, "records after the damage may have been acknowledged")
        let room = try XCTUnwrap(recovered.engine.registry.rooms["lobby"])
        XCTAssertLessThan(room.lastSeq, try XCTUnwrap(original.engine.registry.rooms["lobby"]).lastSeq)
    }

    func testADamagedNewestSnapshotFallsBackToTheOlderOne() throws {
        let original = try runNode(mode: .batch, messages: 400, snapshotEvery: 20_000)
        let newest = try XCTUnwrap(
            try DataDirectory(path: folder).files().last { if case .snapshot = $0 { true } else { false } }
        )
        let path = folder + "/" + newest.name
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let (recovered, _) = try reopen(mode: .batch)
        XCTAssertEqual(recovered.lastUpdate, original.lastUpdate)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path + ".damaged"))
    }

    func testEntriesDroppedBehindAStalledDiskAreCoveredByANewLineage() throws {
        // A queue bound smaller than one big message: its entry is dropped, and the writer asks for a lineage.
        let (journal, _) = try BrokerJournal.open(path: folder, mode: .always, queueLimit: 6_000, logger: logger)
        var node = journalingNode(at: 1_000)
        func perform(_ actions: [NodeAction]) {
            for case .journal(let entry) in actions + node.flushUpdates() { journal.append(entry) }
        }
        perform(node.start())
        var id: UInt32 = 1
        func send(_ body: WireCommand.Body) {
            id += 1
            let frame = WireCommand(requestID: id, connectionID: 7, client: "127.0.0.1", body: body).encoded()
            perform(node.command(identity: Array("gw-1".utf8), frame: frame, now: BrokerClock(integerLiteral: 1_000)))
        }
        send(.hello(gatewayName: "gw-1"))
        send(.create(name: "ann", room: "lobby", key: String(repeating: "k", count: 64)))
        send(.listRooms(after: String(repeating: "z", count: 7_000), limit: 1))  // an input larger than the bound
        var asked = false
        for _ in 0..<200 where !asked {
            asked = journal.takeLineageRequest()
            if !asked { usleep(10_000) }
        }
        XCTAssertTrue(asked, "the writer asks for a new lineage after dropping entries")
        perform(node.restartLineage())
        send(.create(name: "bob", room: "hall", key: ""))
        journal.close()
        let (recovered, recovery) = try reopen(mode: .always)
        XCTAssertEqual(recovery.position, node.lastUpdate)
        XCTAssertEqual(Set(recovered.engine.registry.rooms.keys), ["lobby", "hall"])
    }

    func testASecondOpenOfTheFolderIsRefused() throws {
        let first = try DataDirectory(path: folder)
        XCTAssertThrowsError(try DataDirectory(path: folder)) { error in
            guard case .locked = error as? StorageError else { return XCTFail("\(error)") }
        }
        _ = first
    }

    func testRecordsRoundTripAndDamageIsFound() {
        var bytes: [UInt8] = []
        JournalRecord.append(.term(7), to: &bytes)
        JournalRecord.append(.instance("abc"), to: &bytes)
        guard case .record(.term(7), let size) = JournalRecord.read(bytes, at: 0) else { return XCTFail() }
        guard case .record(.instance("abc"), _) = JournalRecord.read(bytes, at: size) else { return XCTFail() }
        var damaged = bytes
        damaged[size - 1] ^= 1
        guard case .damaged = JournalRecord.read(damaged, at: 0) else { return XCTFail() }
        guard case .damaged = JournalRecord.read(Array(bytes.prefix(size - 1)), at: 0) else { return XCTFail() }
        XCTAssertEqual(
            DataFile(name: DataFile.segment(generation: 3, first: 99).name),
            .segment(generation: 3, first: 99)
        )
        XCTAssertNil(DataFile(name: "journal-3-99.log"))
    }
}
