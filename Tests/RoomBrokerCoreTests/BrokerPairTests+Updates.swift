import ChatWire
import RoomBrokerCore
import XCTest

/// The updates the active sends its standby: split under the peer's frame limit, and checked by digest.
extension BrokerPairTests {
    /// However much one pass applies, no message to the standby exceeds what its socket accepts: the
    /// updates are split into several messages, and the standby applies them all.
    func testLargeInputsSplitTheUpdatesIntoMessagesThePeerAccepts() throws {
        var (pair, _) = try startedPair()
        var actions: [NodeAction] = []
        for _ in 0..<3 {
            // Refused by the engine (not a command), replicated all the same: its output is numbered too.
            let frame = [UInt8](repeating: 0x41, count: 600 << 10)
            actions += pair.nodes[0].command(identity: Array("gw".utf8), frame: frame, now: pair.clock)
        }
        actions += pair.nodes[0].flushUpdates()
        let toPeer = actions.compactMap { action -> [UInt8]? in
            guard case .toPeer(let frame) = action else { return nil }
            return frame
        }
        XCTAssertEqual(toPeer.count, 3, "two 600 KiB inputs never share a message")
        XCTAssertTrue(toPeer.allSatisfy { $0.count <= PeerMessage.maxSize })
        pair.perform(actions, from: 0)
        pair.settle()
        XCTAssertEqual(pair.nodes[0].heldCount, 0, "the standby acknowledged them all")
        XCTAssertEqual(pair.nodes[0].standby, .inSync)
        XCTAssertFalse(pair.lines.contains { $0.contains("standby-diverged") || $0.contains("standby-reloading") })
    }

    /// A standby whose engine gives other output than the active's for an update (here: the digests
    /// the active sent are altered on the way) notices, says so and reloads the state; the check is
    /// sampled, but every update right after a snapshot is checked.
    func testAStandbyWhoseOutputDiffersFromTheActiveReloads() throws {
        var (pair, password) = try startedPair()
        pair.send(
            .join(room: "lobby", password: password, name: "alice", since: WireCommand.noSince),
            to: 0,
            settle: nil
        )
        pair.send(.message(room: "lobby", text: "hello", key: "k1"), to: 0, settle: nil)
        pair.toNode[1] = pair.toNode[1].map { frame in
            guard case .updates(var updates)? = try? PeerMessage.decode(frame) else { return frame }
            for index in updates.indices { updates[index].digest ^= 1 }
            return PeerMessage.updates(updates).encoded()
        }
        pair.settle()
        XCTAssertTrue(pair.lines.contains { $0.contains("standby-diverged") }, "\(pair.lines.suffix(5))")
        pair.advance(3_000)
        XCTAssertEqual(pair.nodes[0].standby, .inSync, "reloaded: \(pair.lines.filter { $0.contains("standby") })")
        XCTAssertEqual(
            pair.nodes[1].engine.registry.rooms["lobby"]?.lastSeq,
            pair.nodes[0].engine.registry.rooms["lobby"]?.lastSeq
        )
    }
}
