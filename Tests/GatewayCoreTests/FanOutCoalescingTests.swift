import GatewayTestSupport
import Logging
import NIOCore
import NIOEmbedded
import XCTest

@testable import GatewayCore

/// How the fan-out writes room events to the connections of one event loop: every frame due, in
/// order, with as few writes as the frames' order allows and one flush per connection per pass; and
/// batches that arrive while a pass waits join it. Observed on `EmbeddedChannel`s through a handler
/// next to the socket that counts the writes and flushes reaching it.
final class FanOutCoalescingTests: XCTestCase {
    /// Counts what reaches the socket end of the pipeline.
    private final class SocketCounter: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = ByteBuffer
        var writes = 0
        var flushes = 0
        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            writes += 1
            context.write(data, promise: promise)
        }
        func flush(context: ChannelHandlerContext) {
            flushes += 1
            context.flush()
        }
    }

    /// One client connection on the shared embedded loop, with its session once opened.
    private final class Client: @unchecked Sendable {
        let counter = SocketCounter()
        var session: SocketIOSession?
        var gateway: EmbeddedGatewayClient?

        /// The text frames written since the last call, decoded as the client sees them.
        func received() throws -> [String] {
            try gateway?.texts() ?? []
        }

        /// Writes and flushes counted since the last call.
        func counts() -> (writes: Int, flushes: Int) {
            defer {
                counter.writes = 0
                counter.flushes = 0
            }
            return (counter.writes, counter.flushes)
        }
    }

    private var loop: EmbeddedEventLoop!
    private var link: FakeBrokerClient!
    private var metrics: GatewayMetrics!
    private var clients: [Client] = []

    override func setUpWithError() throws {
        loop = EmbeddedEventLoop()
        // Nothing here talks to a broker.
        link = FakeBrokerClient()
        metrics = GatewayMetrics()
    }

    override func tearDown() {
        for client in clients {
            client.gateway?.finish()
        }
        clients = []
    }

    /// An open connection whose session is a confirmed member of `rooms` (each joined at `joinSeq`).
    private func member(of rooms: [String], joinSeq: UInt64, in loopRooms: LoopRooms) throws -> Client {
        let client = Client()
        let link = link!
        let metrics = metrics!
        let gateway = try EmbeddedGatewayClient(
            id: UInt64(clients.count + 1),
            loop: loop,
            socketHandlers: [client.counter]
        ) {
            connection in
            let session = SocketIOSession(
                connection: connection,
                link: link,
                rooms: loopRooms,
                metrics: metrics,
                logger: Logger(label: "test")
            )
            client.session = session
            return session
        }
        client.gateway = gateway
        try gateway.connect()
        XCTAssertEqual(try client.received().count, 1, "the open packet")
        _ = client.counts()
        let session = try XCTUnwrap(client.session)
        for room in rooms {
            _ = loopRooms.add(room, for: session.connection, state: .active(joinSeq: joinSeq))
        }
        clients.append(client)
        return client
    }

    private func event(_ room: String, _ seq: UInt64) -> RoomBroadcastFrame {
        RoomBroadcastFrame(room: room, seq: seq, payload: Array("42[\"message\",\"\(room)\(seq)\"]".utf8))
    }

    private func texts(_ names: [String]) -> [String] {
        names.map { "42[\"message\",\"\($0)\"]" }
    }

    /// Each connection gets exactly its due frames in order; frames next to each other in the batch
    /// go out as one write, and each connection is flushed once.
    func testEachConnectionGetsItsDueFramesInOrderWithOneFlushAndAdjacentFramesInOneWrite() throws {
        let fanOut = BroadcastFanOut(group: loop, metrics: metrics)
        let rooms = fanOut.rooms(on: loop)
        let early = try member(of: ["r"], joinSeq: 0, in: rooms)
        let late = try member(of: ["r"], joinSeq: 2, in: rooms)
        let other = try member(of: ["s"], joinSeq: 0, in: rooms)
        let both = try member(of: ["r", "s"], joinSeq: 0, in: rooms)

        fanOut.deliver([event("r", 1), event("r", 2), event("s", 1), event("r", 3), event("r", 4)])
        loop.run()

        XCTAssertEqual(try early.received(), texts(["r1", "r2", "r3", "r4"]))
        XCTAssertEqual(try late.received(), texts(["r3", "r4"]))
        XCTAssertEqual(try other.received(), texts(["s1"]))
        XCTAssertEqual(try both.received(), texts(["r1", "r2", "s1", "r3", "r4"]), "the order across rooms is kept")
        let expected = [
            (early, 2, "r1 r2, then r3 r4 (s1 lies between)"), (late, 1, "r3 r4"), (other, 1, "s1"),
            (both, 1, "all five"),
        ]
        for (client, writes, what) in expected {
            let counts = client.counts()
            XCTAssertEqual(counts.writes, writes, what)
            XCTAssertEqual(counts.flushes, 1, "one flush per connection per pass")
        }

        fanOut.deliver([event("r", 5), event("r", 6), event("r", 7)])
        loop.run()
        for client in [early, late, both] {
            XCTAssertEqual(try client.received(), texts(["r5", "r6", "r7"]))
            let counts = client.counts()
            XCTAssertEqual(counts.writes, 1, "three frames due, one write")
            XCTAssertEqual(counts.flushes, 1, "one flush per connection per pass")
        }
        XCTAssertEqual(try other.received(), [])
        XCTAssertEqual(other.counts().flushes, 0, "nothing due, nothing flushed")
    }

    /// Batches handed to a loop before its pass runs join that pass: one write and one flush per
    /// connection for all of them.
    func testBatchesThatArriveBeforeThePassRunsGoOutTogether() throws {
        let fanOut = BroadcastFanOut(group: loop, metrics: metrics)
        let client = try member(of: ["r"], joinSeq: 0, in: fanOut.rooms(on: loop))
        for seq in UInt64(1)...4 { fanOut.deliver([event("r", seq)]) }
        loop.run()
        XCTAssertEqual(try client.received(), texts(["r1", "r2", "r3", "r4"]))
        let counts = client.counts()
        XCTAssertEqual(counts.writes, 1)
        XCTAssertEqual(counts.flushes, 1)
    }

    /// With a coalescing window an event of a quiet room goes out at once; events of a busy room (its
    /// previous event within the window) wait until the window since the last pass has passed, then go
    /// out together.
    func testTheCoalescingWindowSpacesPassesOfALoop() throws {
        let fanOut = BroadcastFanOut(group: loop, metrics: metrics, coalescingWindow: .milliseconds(5))
        let client = try member(of: ["r"], joinSeq: 0, in: fanOut.rooms(on: loop))
        loop.advanceTime(by: .seconds(1))
        fanOut.deliver([event("r", 1)])
        loop.run()
        XCTAssertEqual(try client.received(), texts(["r1"]), "after a quiet spell: at once")
        fanOut.deliver([event("r", 2)])
        loop.advanceTime(by: .milliseconds(2))
        fanOut.deliver([event("r", 3)])
        XCTAssertEqual(try client.received(), [], "within the window: waiting")
        loop.advanceTime(by: .milliseconds(3))
        XCTAssertEqual(try client.received(), texts(["r2", "r3"]))
        XCTAssertEqual(client.counts().writes, 2, "r1, then r2 r3 in one write")
        let quiet = try member(of: ["s"], joinSeq: 0, in: fanOut.rooms(on: loop))
        fanOut.deliver([event("s", 1)])
        loop.run()
        XCTAssertEqual(
            try quiet.received(),
            texts(["s1"]),
            "a quiet room's event: at once, though the last pass was just now"
        )
        loop.advanceTime(by: .milliseconds(20))
        fanOut.deliver([event("r", 4)])
        loop.run()
        XCTAssertEqual(try client.received(), texts(["r4"]), "the window has passed: at once")
    }

    /// Frames that reach a member whose join is still pending are held, then written after the join
    /// is confirmed (only those after its seq), even though the batch they came in is gone.
    func testFramesForAPendingJoinAreHeldAndWrittenOnceConfirmed() throws {
        let fanOut = BroadcastFanOut(group: loop, metrics: metrics)
        let rooms = fanOut.rooms(on: loop)
        let client = try member(of: [], joinSeq: 0, in: rooms)
        let membership = rooms.add("r", for: try XCTUnwrap(client.session).connection)
        fanOut.deliver([event("r", 1), event("r", 2), event("r", 3)])
        loop.run()
        XCTAssertEqual(try client.received(), [])
        rooms.activate(membership, joinSeq: 1)
        XCTAssertEqual(try client.received(), texts(["r2", "r3"]))
    }

    /// A loop queues only the events of rooms it has members of (pending joins included, and every
    /// room while a resume is in flight); after its last member of a room leaves, that room's events
    /// are no longer built for it.
    func testALoopQueuesOnlyTheEventsOfRoomsItHasMembersOf() throws {
        let fanOut = BroadcastFanOut(group: loop, metrics: metrics)
        let rooms = fanOut.rooms(on: loop)
        let client = try member(of: ["r"], joinSeq: 0, in: rooms)
        let queued = { rooms.inbox.withLock { $0.batch.events.map { "\($0.room)\($0.seq)" } } }

        fanOut.deliver([event("s", 1), event("r", 1), event("t", 1)])
        XCTAssertEqual(queued(), ["r1"], "s and t have no member on this loop")
        loop.run()
        XCTAssertEqual(try client.received(), texts(["r1"]))

        let window = rooms.openWindow()
        fanOut.deliver([event("s", 2)])
        XCTAssertEqual(queued(), ["s2"], "a resume in flight needs every room")
        loop.run()
        rooms.closeWindow(window)
        fanOut.deliver([event("s", 3)])
        XCTAssertEqual(queued(), [], "window closed: s is not wanted again")

        let session = try XCTUnwrap(client.session)
        rooms.remove(rooms.add("r", for: session.connection))
        fanOut.deliver([event("r", 2)])
        XCTAssertEqual(queued(), ["r2"], "r still has its first member")
        loop.run()
        XCTAssertEqual(rooms.queuedBytes.load(ordering: .relaxed), 0)
    }

    /// The busy-room table stays bounded: entries older than the window go when it has doubled.
    func testBusyRoomsForgetsQuietRooms() {
        var rooms = BusyRooms(window: 1_000)
        XCTAssertFalse(rooms.recordEvent(of: "a", now: 10_000), "first event: quiet")
        XCTAssertTrue(rooms.recordEvent(of: "a", now: 10_500))
        XCTAssertFalse(rooms.recordEvent(of: "a", now: 12_000), "1.5 windows later: quiet again")
        for index in 0..<(10 * BusyRooms.minimumSweepSize) {
            _ = rooms.recordEvent(of: "room\(index)", now: 20_000 + UInt64(index) * 10)
        }
        XCTAssertLessThanOrEqual(rooms.count, 2 * BusyRooms.minimumSweepSize)
    }
}
