import ChatWire
import Foundation
import Logging
import Synchronization
import XCTest
import ZeroMQ

@testable import GatewayCore

/// The link's socket loop against a broker played by the test (a ROUTER and an XPUB on IPC endpoints):
/// what the thread does with the actions of ``BrokerLinkState`` when the sockets are real.
final class BrokerLinkLoopTests: XCTestCase {
    /// A sink that records what reaches it and whose backlog the test sets.
    final class RecordingSink: BroadcastSink {
        let backlogged = Atomic<Bool>(false)
        let seqs = Mutex<[UInt64]>([])
        /// When set, ``deliver(_:)`` signals `entered` and then holds the link's thread until `gate` is signalled.
        let holdNextDelivery = Atomic<Bool>(false)
        let entered = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)

        func deliver(_ batch: [RoomBroadcastFrame]) {
            seqs.withLock { $0 += batch.map(\.seq) }
            if holdNextDelivery.exchange(false, ordering: .relaxed) {
                entered.signal()
                gate.wait()
            }
        }

        func disconnectMembers(of room: String, reason: RoomDisconnectReason) {}
        func takeOver(room: String, connectionID: UInt64, payload: [UInt8]) {}

        var isBacklogged: Bool { backlogged.load(ordering: .relaxed) }
    }

    var context: ZMQContext!
    var router: ZMQSocket!
    var publisher: ZMQSocket!
    var link: BrokerLink!
    let sink = RecordingSink()

    override func setUp() async throws {
        context = try ZMQContext()
        router = try context.socket(.router)
        publisher = try context.socket(.xpub)
        try publisher.set(.xpubVerbose(true))
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("link-\(UUID().uuidString.prefix(8))")
            .path
        let commands = "ipc://\(base)-commands"
        let broadcasts = "ipc://\(base)-broadcasts"
        try router.bind(commands)
        try publisher.bind(broadcasts)
        link = try BrokerLink(
            configuration: BrokerLinkConfiguration(
                commandsEndpoint: commands,
                broadcastsEndpoint: broadcasts,
                gatewayID: "gw-loop"
            ),
            logger: Logger(label: "test"),
            sink: sink
        )
        try await link.start()
        // Answer the first hello so the link counts as registered.
        let hello = try XCTUnwrap(try nextCommand(), "no hello")
        XCTAssertEqual(hello.body, .hello(gatewayName: "gw-loop"))
        try reply(to: hello, .success(.init(instance: "inst-1")))
    }

    override func tearDown() async throws {
        await link?.stop()
        router?.close()
        publisher?.close()
        link = nil
        context = nil
    }

    /// The next message on `socket` within `timeout` seconds.
    func receive(_ socket: ZMQSocket, timeout: TimeInterval = 5) throws -> [[UInt8]]? {
        let poller = ZMQPoller([.socket(socket)])
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try poller.poll(timeoutMilliseconds: 50).isReadable(socket),
                let message = try socket.receive(dontWait: true)
            {
                return message
            }
        }
        return nil
    }

    /// The next command the link sends other than a heartbeat.
    func nextCommand(timeout: TimeInterval = 5) throws -> WireCommand? {
        while let frames = try receive(router, timeout: timeout) {
            let command = try WireCommand.decode(frames[1])
            if command.body != .heartbeat { return command }
            try reply(to: command, .success(.init(instance: "inst-1")))
        }
        return nil
    }

    func reply(to command: WireCommand, _ result: Result<WireReply.Success, ChatError>) throws {
        _ = try router.send([Array("gw-loop".utf8), WireReply(to: command, result: result).encoded()])
    }

    func publish(_ kind: BroadcastKind, room: String, seq: UInt64) throws {
        let broadcast = WireBroadcast(
            kind: kind,
            room: room,
            seq: seq,
            gateway: "gw-x",
            connectionID: 0,
            payload: kind == .head ? [] : Array("e\(seq)".utf8)
        )
        _ = try publisher.send(broadcast.encoded())
    }

    func waitUntil(_ timeout: TimeInterval = 5, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return condition()
    }

    /// Follows and joins room `r` at seq 1, through the subscription handshake.
    func joinRoom() throws {
        link.follow("r")
        let subscription = try XCTUnwrap(try receive(publisher), "no subscription")
        XCTAssertEqual(subscription.first, [1] + WireFormat.topic(room: "r"))
        try publish(.head, room: "r", seq: 0)
        let joined = expectation(description: "join completed")
        link.send(.join(room: "r", password: "pw", name: "ann"), connectionID: 1) { _ in joined.fulfill() }
        let join = try XCTUnwrap(try nextCommand(), "the join never left")
        XCTAssertEqual(join.body.kind, .join)
        try publish(.joined, room: "r", seq: 1)
        try reply(to: join, .success(.init(room: "r", seq: 1)))
        wait(for: [joined], timeout: 5)
    }

    func testWhileTheEventLoopsAreBehindBroadcastsWaitInZeroMQAndFollowInOrderLater() throws {
        try joinRoom()
        sink.backlogged.store(true, ordering: .relaxed)
        Thread.sleep(forTimeInterval: 0.05)
        for seq in 2...200 { try publish(.message, room: "r", seq: UInt64(seq)) }
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertEqual(sink.seqs.withLock { $0 }, [], "nothing is read while the loops are behind")
        sink.backlogged.store(false, ordering: .relaxed)
        XCTAssertTrue(waitUntil { sink.seqs.withLock { $0.count } == 199 })
        XCTAssertEqual(sink.seqs.withLock { $0 }, Array(2...200))
    }

    func testStoppingStillSendsTheDisconnectsQueuedLast() async throws {
        try joinRoom()
        // Hold the link's thread inside a delivery, so that the disconnects reach its inbox after its
        // last look at it, as when a stopping server closes its connections.
        sink.holdNextDelivery.store(true, ordering: .relaxed)
        try publish(.message, room: "r", seq: 2)
        XCTAssertEqual(sink.entered.wait(timeout: .now() + 5), .success)
        for connection in 1...20 as ClosedRange<UInt64> {
            link.send(.disconnect, connectionID: connection, completion: nil)
        }
        let link = self.link!
        let stopping = Task { await link.stop() }
        try await Task.sleep(for: .milliseconds(100))
        sink.gate.signal()
        await stopping.value
        var seen: Set<UInt64> = []
        while let command = try nextCommand(timeout: 2) {
            if command.body == .disconnect { seen.insert(command.connectionID) }
            if seen.count == 20 { break }
        }
        XCTAssertEqual(seen, Set(1...20), "every member's disconnect reached the broker")
    }
}
