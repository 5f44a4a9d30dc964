import ChatWire
import RoomBrokerCore
import SocketIO
import XCTest

/// The pair at the edges: a standby that fell behind or was cut off comes back in sync, snapshots that
/// take long never stop the active, a standby without the state never replaces the rooms with nothing,
/// and gateway quorums keep two brokers from serving at once.
final class BrokerPairResyncTests: XCTestCase {
    typealias Pair = BrokerPairTests.Pair

    private func startedPair(maxHeldOutputs: Int = 100_000) throws -> (Pair, String) {
        try BrokerPairTests.startedPair(maxHeldOutputs: maxHeldOutputs)
    }

    /// A pair whose active heard gateways gw, gw2 and gw3, then lost its standby and gw2 and gw3 together
    /// (1.2 s ago): it hears one gateway of three.
    private func fencedPairOfThreeGateways() throws -> Pair {
        var (pair, _) = try startedPair()
        for gateway in ["gw2", "gw3"] { pair.send(.hello(gatewayName: gateway), to: 0, gateway: gateway) }
        pair.heartbeating = [("gw", 0), ("gw2", 0), ("gw3", 0)]
        pair.advance(1_000)
        pair.linked = false
        pair.heartbeating = [("gw", 0)]
        pair.advance(1_200)
        return pair
    }

    /// Gateway "gw" says hello to the standby (its peer silent) every second for nine seconds, each
    /// refused with `not_active`, then once more past ten peer timeouts; returns that last request.
    private func helloAfterTenPeerTimeouts(_ pair: inout Pair, refusedBecause reason: String) throws -> UInt32 {
        for _ in 0..<8 {
            let hello = pair.send(.hello(gatewayName: "gw"), to: 1, settle: [false, true])
            XCTAssertEqual(pair.failure(hello), .notActive, reason)
            pair.advance(1_000, alive: [false, true])
        }
        pair.advance(1_000, alive: [false, true])
        return pair.send(.hello(gatewayName: "gw"), to: 1, settle: [false, true])
    }

    private func history(
        _ pair: inout Pair,
        node: Int,
        password: String,
        name: String,
        connection: UInt64
    ) throws -> [String] {
        let alive = node == 0 ? [true, false] : [false, true]
        let join = pair.send(
            .join(room: "lobby", password: password, name: name, since: WireCommand.noSince),
            to: node,
            connection: connection,
            settle: alive
        )
        let json = try JSONValue.parse(try pair.success(join).json, limits: .trusted)
        return json["history"]?.arrayValue?.compactMap { $0["text"]?.stringValue } ?? []
    }

    /// The lagging standby of the review: dropped for holding too many replies, it relinks, reloads, and a
    /// later failover keeps every acknowledged message.
    func testAStandbyDroppedForFallingBehindComesBackInSyncAndAFailoverKeepsEveryAcknowledgedMessage() throws {
        var (pair, password) = try startedPair(maxHeldOutputs: 5)
        pair.heartbeating = [("gw", 0)]
        pair.send(.join(room: "lobby", password: password, name: "alice", since: WireCommand.noSince), to: 0)
        pair.linked = false
        var texts: [String] = []
        for index in 0..<8 {
            texts.append("lagging \(index)")
            pair.send(.message(room: "lobby", text: texts.last ?? "", key: "k\(index)"), to: 0, settle: nil)
        }
        XCTAssertEqual(pair.nodes[0].standby, .absent, "dropped: too slow")
        pair.linked = true
        pair.advance(3_000)
        XCTAssertEqual(pair.nodes[0].standby, .inSync, "\(pair.lines.filter { $0.contains("standby") }.suffix(6))")
        XCTAssertTrue(pair.lines.contains { $0.contains("standby-reloading") && $0.contains("updates were missed") })
        for index in 8..<11 {
            texts.append("after relink \(index)")
            let request = pair.send(.message(room: "lobby", text: texts.last ?? "", key: "k\(index)"), to: 0)
            XCTAssertNotNil(try? pair.success(request))
        }
        // The active dies; the gateway votes for the standby, which has everything.
        pair.heartbeating = []
        pair.advance(1_100, alive: [false, true])
        let hello = pair.send(.hello(gatewayName: "gw"), to: 1, settle: [false, true])
        XCTAssertNotNil(try? pair.success(hello))
        XCTAssertEqual(try history(&pair, node: 1, password: password, name: "bob", connection: 9), texts)
    }

    /// A cut between the brokers longer than the peer timeout, with the gateways still heard: the active
    /// acknowledges alone, then the standby reloads and is in sync again; nothing acknowledged is lost.
    func testABrokerLinkCutLongerThanThePeerTimeoutEndsInSyncAgain() throws {
        var (pair, password) = try startedPair()
        pair.send(.join(room: "lobby", password: password, name: "alice", since: WireCommand.noSince), to: 0)
        pair.heartbeating = [("gw", 0)]
        pair.linked = false
        pair.advance(1_200)
        XCTAssertEqual(pair.nodes[0].standby, .absent)
        XCTAssertFalse(pair.nodes[0].fenced, "the gateway is heard: a quorum")
        let message = pair.send(.message(room: "lobby", text: "while cut", key: "c1"), to: 0, settle: nil)
        XCTAssertNotNil(try? pair.success(message), "acknowledged alone")
        XCTAssertEqual(pair.nodes[1].star?.state, .passive, "no vote, no takeover")
        pair.linked = true
        pair.advance(2_000)
        XCTAssertEqual(pair.nodes[0].standby, .inSync)
        pair.heartbeating = []
        pair.advance(1_100, alive: [false, true])
        pair.send(.hello(gatewayName: "gw"), to: 1, settle: [false, true])
        XCTAssertEqual(try history(&pair, node: 1, password: password, name: "bob", connection: 9), ["while cut"])
    }

    /// A standby dropped while no input came (a quiet room): its position equals the active's, so the
    /// active takes it back without a snapshot.
    func testAQuietStandbyThatKeptUpIsTakenBackWithoutASnapshot() throws {
        var (pair, _) = try startedPair()
        pair.heartbeating = [("gw", 0)]
        pair.linked = false
        pair.advance(1_200)
        XCTAssertEqual(pair.nodes[0].standby, .absent)
        // Ticks are inputs too: the positions differ after a cut of more than a tick, so the standby reloads.
        pair.linked = true
        pair.advance(1_000)
        XCTAssertEqual(pair.nodes[0].standby, .inSync)
    }

    /// The review's C1: a restarted standby asks for the state; the snapshot is encoded slowly (off the
    /// loop); the active answers at once meanwhile, and the standby keeps the updates it misses.
    func testTheActiveServesWhileASnapshotIsEncodedAndTheStandbyKeepsTheUpdatesOfThatTime() throws {
        var (pair, password) = try startedPair()
        pair.heartbeating = [("gw", 0)]
        // The standby restarts (kill -9): a fresh backup.
        pair.nodes[1] = BrokerNode(
            configuration: RoomRegistryConfiguration(),
            gatewayTimeoutMilliseconds: 5_000,
            pair: PairConfiguration(role: .backup),
            logger: pair.recorder.logger,
            now: pair.clock
        )
        pair.send(.join(room: "lobby", password: password, name: "alice", since: WireCommand.noSince), to: 0)
        pair.deferWork = true
        pair.advance(1_500)
        XCTAssertEqual(pair.deferred[0].count, 1, "one snapshot encoded, however often the standby asked")
        guard case .syncing = pair.nodes[0].standby else { return XCTFail("syncing: \(pair.nodes[0].standby)") }
        var texts: [String] = []
        for index in 0..<5 {
            texts.append("during sync \(index)")
            let request = pair.send(.message(room: "lobby", text: texts.last ?? "", key: "s\(index)"), to: 0)
            XCTAssertNotNil(try? pair.success(request), "answered while the snapshot is encoded")
        }
        pair.advance(500)
        pair.runDeferredWork()  // encoded: the parts go out; the standby decodes (deferred too)
        pair.settle()
        pair.runDeferredWork()
        pair.advance(500)
        XCTAssertEqual(pair.nodes[0].standby, .inSync, "\(pair.lines.suffix(6))")
        pair.heartbeating = []
        pair.advance(1_100, alive: [false, true])
        pair.send(.hello(gatewayName: "gw"), to: 1, settle: [false, true])
        XCTAssertEqual(try history(&pair, node: 1, password: password, name: "bob", connection: 9), texts)
    }

    /// Many updates kept while the snapshot decoded are applied a batch per tick, so the standby's loop
    /// goes on answering heartbeats; then it follows.
    func testUpdatesKeptDuringALoadAreAppliedInBatches() throws {
        var (pair, password) = try startedPair()
        pair.send(.join(room: "lobby", password: password, name: "alice", since: WireCommand.noSince), to: 0)
        pair.nodes[1] = BrokerNode(
            configuration: RoomRegistryConfiguration(),
            gatewayTimeoutMilliseconds: 5_000,
            pair: PairConfiguration(role: .backup),
            logger: pair.recorder.logger,
            now: pair.clock
        )
        pair.deferWork = true
        pair.advance(600)
        pair.runDeferredWork()  // the encoding: parts go out; the decoding waits
        pair.settle()
        for index in 0..<6_000 { pair.send(.message(room: "lobby", text: "m\(index)", key: ""), to: 0) }
        pair.runDeferredWork()  // decoded: the first batch is applied at once
        pair.settle()
        XCTAssertNotEqual(pair.nodes[0].standby, .inSync, "still applying what it kept")
        pair.advance(100)
        XCTAssertEqual(pair.nodes[0].standby, .inSync, "\(pair.lines.suffix(4))")
        XCTAssertEqual(pair.nodes[1].lastUpdate, pair.nodes[0].lastUpdate)
    }

    /// A standby that never got the state does not take over on a vote while its peer was active a
    /// moment ago (the peer is busy or cut off, not gone): only after ten peer timeouts of silence.
    func testAStandbyWithoutTheStateTakesOverOnlyOnceItsPeerIsGoneForGood() throws {
        var (pair, _) = try startedPair()
        pair.nodes[1] = BrokerNode(
            configuration: RoomRegistryConfiguration(),
            gatewayTimeoutMilliseconds: 5_000,
            pair: PairConfiguration(role: .backup),
            logger: pair.recorder.logger,
            now: pair.clock
        )
        pair.deferWork = true  // the snapshot never arrives
        pair.advance(1_000)
        XCTAssertEqual(pair.nodes[1].star?.state, .passive)
        XCTAssertFalse(pair.nodes[1].hasState)
        pair.advance(1_100, alive: [false, true])
        let hello = try helloAfterTenPeerTimeouts(&pair, refusedBecause: "no takeover without the state")
        XCTAssertNotNil(try? pair.success(hello), "the peer is gone for good: serving afresh rather than not at all")
        XCTAssertTrue(pair.lines.contains { $0.contains("takeover-without-state") })
    }

    /// With two gateways known, one vote is not enough for the standby while its peer may be alive behind
    /// a partition (a tie goes to the active); after ten peer timeouts of silence the peer counts as gone
    /// (it may have died with the other gateway's machine) and one vote of two will do.
    func testTheStandbyNeedsBothGatewaysVotesUntilItsPeerIsGoneForGood() throws {
        var (pair, _) = try startedPair()
        pair.send(.hello(gatewayName: "gw2"), to: 0, gateway: "gw2")
        pair.heartbeating = [("gw", 0), ("gw2", 0)]
        pair.advance(1_000)
        pair.heartbeating = []
        pair.advance(1_100, alive: [false, true])
        let first = pair.send(.hello(gatewayName: "gw"), to: 1, settle: [false, true])
        XCTAssertEqual(pair.failure(first), .notActive, "one vote of two")
        let second = pair.send(.hello(gatewayName: "gw2"), to: 1, gateway: "gw2", settle: [false, true])
        XCTAssertNotNil(try? pair.success(second), "two of two")
        XCTAssertEqual(pair.nodes[1].star?.state, .active)
    }

    func testOneVoteOfTwoIsEnoughOnceThePeerIsGoneForGood() throws {
        var (pair, _) = try startedPair()
        pair.send(.hello(gatewayName: "gw2"), to: 0, gateway: "gw2")
        pair.heartbeating = [("gw", 0), ("gw2", 0)]
        pair.advance(1_000)
        pair.heartbeating = []
        pair.advance(1_100, alive: [false, true])
        let hello = try helloAfterTenPeerTimeouts(
            &pair,
            refusedBecause: "a tie goes to the active for ten peer timeouts"
        )
        XCTAssertNotNil(try? pair.success(hello), "gone for good: the gateway that is left brings the service back")
    }

    /// The review's M2: the brokers' link is cut and two of three gateways lose the active. The standby
    /// gets their votes and takes over; the active hears one gateway of three, is fenced and answers
    /// `not_active`: at no moment do both serve.
    func testAnActiveThatLosesItsStandbyAndMostGatewaysIsFenced() throws {
        var pair = try fencedPairOfThreeGateways()
        XCTAssertTrue(pair.nodes[0].fenced, "\(pair.lines.suffix(4))")
        let refused = pair.send(.message(room: "lobby", text: "x", key: "f1"), to: 0, settle: nil)
        XCTAssertEqual(pair.failure(refused), .notActive)
        for gateway in ["gw2", "gw3"] { pair.send(.hello(gatewayName: gateway), to: 1, gateway: gateway, settle: nil) }
        XCTAssertEqual(pair.nodes[1].star?.state, .active)
        XCTAssertEqual(pair.nodes.filter { $0.isActive && !$0.fenced }.count, 1, "one broker serves")
        // The link heals: the old active hears the higher term and steps down.
        pair.linked = true
        pair.advance(500)
        XCTAssertEqual(pair.nodes[0].star?.state, .passive)
    }

    /// The same cut, with the last heartbeats of the two lost gateways arriving just after the standby's
    /// last one (gateways and standby cut off at once): when the standby's silence is noticed those
    /// gateways are not counted any more, so the active is fenced at once and never acknowledges alone
    /// what the standby, elected by them, does not have.
    func testGatewaysCutOffWithTheStandbyDoNotKeepTheActiveAcknowledgingAlone() throws {
        var (pair, password) = try startedPair()
        for gateway in ["gw2", "gw3"] { pair.send(.hello(gatewayName: gateway), to: 0, gateway: gateway) }
        pair.send(.join(room: "lobby", password: password, name: "alice", since: WireCommand.noSince), to: 0)
        pair.heartbeating = [("gw", 0), ("gw2", 0), ("gw3", 0)]
        pair.advance(1_000)
        pair.linked = false  // the standby's last heartbeat came at most 250 ms ago
        pair.heartbeating = [("gw", 0)]
        pair.advance(100)
        // Then they are cut off too.
        for gateway in ["gw2", "gw3"] { pair.send(.heartbeat, to: 0, gateway: gateway, settle: nil) }
        let message = pair.send(.message(room: "lobby", text: "held", key: "h1"), to: 0, settle: nil)
        XCTAssertNil(pair.replies[message], "held for the standby's ack")
        pair.advance(1_000)
        XCTAssertTrue(pair.nodes[0].fenced, "\(pair.lines.suffix(4))")
        XCTAssertFalse(pair.lines.contains { $0.contains("acknowledging alone") }, "\(pair.lines.suffix(4))")
        XCTAssertNil(pair.replies[message], "never acknowledged alone")
        for gateway in ["gw2", "gw3"] { pair.send(.hello(gatewayName: gateway), to: 1, gateway: gateway, settle: nil) }
        XCTAssertEqual(pair.nodes[1].star?.state, .active)
        XCTAssertEqual(pair.nodes.filter { $0.isActive && !$0.fenced }.count, 1, "one broker serves")
    }

    /// A heartbeat's reply promises nothing to a client: it goes out at once, while the replies to
    /// commands wait for the standby. Held, it made the gateways fail over whenever the standby was
    /// slow or had just died, and vote for it.
    func testHeartbeatsAreAnsweredAtOnceWhileCommandsWaitForTheStandby() throws {
        var (pair, password) = try startedPair()
        pair.send(.join(room: "lobby", password: password, name: "alice", since: WireCommand.noSince), to: 0)
        pair.linked = false  // the standby's acks stop arriving
        let message = pair.send(.message(room: "lobby", text: "held", key: "h1"), to: 0, settle: nil)
        let beat = pair.send(.heartbeat, to: 0, settle: nil)
        XCTAssertNil(pair.replies[message], "held for the standby's ack")
        XCTAssertNotNil(try? pair.success(beat), "answered at once")
    }

    /// A fenced active unfences when enough gateways are heard again (their link to it healed), even
    /// though it answered them `not_active` meanwhile.
    func testAFencedActiveUnfencesWhenAQuorumOfGatewaysIsHeardAgain() throws {
        var pair = try fencedPairOfThreeGateways()
        XCTAssertTrue(pair.nodes[0].fenced)
        pair.heartbeating = [("gw", 0), ("gw2", 0), ("gw3", 0)]
        pair.advance(500)
        XCTAssertFalse(pair.nodes[0].fenced, "\(pair.lines.suffix(3))")
        XCTAssertEqual(pair.nodes[1].star?.state, .passive, "no vote reached the standby")
    }

    /// What one pass of the loop applied goes to the standby as one message and comes back as one ack,
    /// which releases every reply of the pass.
    func testOnePassOfUpdatesIsOneMessageAndOneAck() throws {
        var (pair, password) = try startedPair()
        pair.send(.join(room: "lobby", password: password, name: "alice", since: WireCommand.noSince), to: 0)
        var replies: [NodeAction] = []
        for index in 0..<5 {
            pair.requestID += 1
            let frame = WireCommand(
                requestID: pair.requestID,
                connectionID: 1,
                sentAt: pair.now,
                body: .message(room: "lobby", text: "m\(index)", key: "p\(index)")
            ).encoded()
            replies += pair.nodes[0].command(identity: Array("gw".utf8), frame: frame, now: pair.clock)
        }
        XCTAssertTrue(replies.isEmpty, "held, and nothing sent yet: \(replies.count)")
        let flushed = pair.nodes[0].flushUpdates()
        XCTAssertEqual(flushed.count, 1, "one message")
        guard case .toPeer(let frame)? = flushed.first, case .updates(let updates)? = try? PeerMessage.decode(frame)
        else {
            return XCTFail("\(flushed)")
        }
        XCTAssertEqual(updates.count, 5)
        let acks = pair.nodes[1].peer(frame: frame, now: pair.clock)
        XCTAssertEqual(acks.count, 1, "one ack")
        guard case .toPeer(let ack)? = acks.first else { return XCTFail("\(acks)") }
        let released = pair.nodes[0].peer(frame: ack, now: pair.clock)
        XCTAssertEqual(released.filter { if case .reply = $0 { return true } else { return false } }.count, 5)
    }

    /// A big state (about 4 MB) goes out in parts, at most a window of them unconfirmed.
    func testSnapshotPartsGoOutUnderFlowControl() throws {
        var (pair, _) = try startedPair()
        let text = String(repeating: "😀", count: 2_000)  // 8,000 bytes: the longest text
        for room in 0..<8 {
            let create = pair.send(.create(name: "owner", room: "big\(room)", key: "r\(room)"), to: 0)
            let json = try JSONValue.parse(try pair.success(create).json, limits: .trusted)
            let password = try XCTUnwrap(json["password"]?.stringValue)
            pair.send(.join(room: "big\(room)", password: password, name: "alice", since: WireCommand.noSince), to: 0)
            for index in 0..<40 { pair.send(.message(room: "big\(room)", text: text, key: "b\(room).\(index)"), to: 0) }
        }
        let request = PeerMessage.syncRequest(sync: 77).encoded()
        var actions = pair.nodes[0].peer(frame: request, now: pair.clock)
        let work = actions.compactMap { action -> SnapshotWork? in
            if case .snapshotWork(let work) = action { return work } else { return nil }
        }
        XCTAssertEqual(work.count, 1)
        actions = pair.nodes[0].finished(work[0].run(), now: pair.clock)
        func parts(_ actions: [NodeAction]) -> [UInt32] {
            actions.compactMap { action in
                if case .toPeer(let frame) = action,
                    case .snapshot(_, _, let index, _, _)? = try? PeerMessage.decode(frame)
                {
                    return index
                }
                return nil
            }
        }
        XCTAssertEqual(
            parts(actions),
            Array(0..<PeerMessage.chunkWindow),
            "only a window of parts before a confirmation"
        )
        let more = pair.nodes[0].peer(
            frame: PeerMessage.snapshotReceived(sync: 77, index: 1).encoded(),
            now: pair.clock
        )
        XCTAssertEqual(
            parts(more),
            [PeerMessage.chunkWindow, PeerMessage.chunkWindow + 1],
            "two confirmed, two more parts"
        )
    }
}
