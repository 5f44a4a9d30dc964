import NIOCore
import Synchronization

/// The room memberships of the connections on one event loop, and the room events waiting for it.
///
/// The broker link's thread appends events to ``inbox`` (one buffer per loop, see ``FanOutBatch``) and
/// hops here only when no pass is scheduled yet; a pass takes everything that arrived meanwhile,
/// writes each member its due frames as slices of that one buffer (adjacent frames as one slice) and
/// flushes each touched connection once. Everything else is confined to the event loop: no locks and
/// no per-recipient hops or copies.
final class LoopRooms: @unchecked Sendable {
    /// Events held for one pending join before the member is disconnected.
    static let holdLimit = 4_096

    /// What the link appended and the loop did not take yet, whether a pass is scheduled, and which
    /// rooms' events the loop wants.
    struct Inbox: Sendable {
        var batch: FanOutBatch
        var passScheduled = false
        /// Rooms with at least one membership (pending or active) on this loop: the link appends only
        /// their events, so a loop without members of a room neither builds nor queues its frames.
        var rooms: Set<String> = []
        /// A resume is in flight on this loop: its window needs every event, of any room.
        var wantsEveryRoom = false

        /// Whether the loop wants the events of `room`.
        func wants(_ room: String) -> Bool { wantsEveryRoom || rooms.contains(room) }
    }

    let eventLoop: any EventLoop
    /// Events waiting for the next pass (the link's thread appends, the loop takes).
    let inbox: Mutex<Inbox>
    /// Bytes in ``inbox`` (any thread): the fan-out's backlog measure.
    let queuedBytes = Atomic<Int>(0)
    /// The loop's monotonic time (`eventLoop.now`) at the start of the last pass, in nanoseconds (any thread).
    let lastPassNanoseconds = Atomic<UInt64>(0)
    private let allocator = ByteBufferAllocator()
    private let metrics: GatewayMetrics
    private var rooms: [String: [RoomMembership]] = [:]
    /// The connections with memberships on this loop, by identity: what the fan-out writes to.
    private var recipients: [ObjectIdentifier: FanOutRecipient] = [:]
    /// Connections written to in the current pass, flushed at its end.
    private var touched: [FanOutRecipient] = []
    /// Sessions' resumes in flight on this loop: each keeps the frames delivered meanwhile.
    private var windows: [ResumeWindow] = []

    init(eventLoop: any EventLoop, metrics: GatewayMetrics) {
        self.eventLoop = eventLoop
        self.metrics = metrics
        inbox = Mutex(Inbox(batch: FanOutBatch(allocator: allocator)))
    }

    /// Takes what waits in the inbox and delivers it. A pass scheduled by the fan-out, or run early
    /// by anything that must come after the events already received.
    func runPass() {
        eventLoop.preconditionInEventLoop()
        lastPassNanoseconds.store(eventLoop.now.uptimeNanoseconds, ordering: .relaxed)
        let empty = FanOutBatch(allocator: allocator)
        let batch = inbox.withLock { inbox in
            inbox.passScheduled = false
            var taken = empty
            swap(&taken, &inbox.batch)
            return taken
        }
        guard !batch.isEmpty else { return }
        queuedBytes.subtract(batch.bytes.readableBytes, ordering: .relaxed)
        deliver(batch)
    }

    /// Registers and returns a membership of `connection` in `room`: pending (the default) until
    /// ``activate(_:joinSeq:)``, or already active for a resumed session.
    func add(
        _ room: String,
        for connection: EngineConnection,
        state: RoomMembership.State = .pending(held: [])
    ) -> RoomMembership {
        eventLoop.preconditionInEventLoop()
        if rooms[room] == nil {
            // Before the join goes to the broker: every event after the join's seq finds the room here.
            _ = inbox.withLock { $0.rooms.insert(room) }
        }
        let recipient = recipients[ObjectIdentifier(connection)] ?? FanOutRecipient(connection: connection)
        recipients[ObjectIdentifier(connection)] = recipient
        recipient.memberships += 1
        let membership = RoomMembership(room: room, recipient: recipient, state: state)
        rooms[room, default: []].append(membership)
        return membership
    }

    /// The members of each room on this loop (those leaving left out), for `/status`.
    func memberCounts() -> [String: Int] {
        eventLoop.preconditionInEventLoop()
        var counts: [String: Int] = [:]
        for (room, members) in rooms {
            let count = members.count(where: { !$0.isLeaving })
            if count > 0 { counts[room] = count }
        }
        return counts
    }

    /// Removes a membership.
    func remove(_ membership: RoomMembership) {
        eventLoop.preconditionInEventLoop()
        guard var members = rooms[membership.room], let index = members.firstIndex(where: { $0 === membership }) else {
            return
        }
        members.remove(at: index)
        let recipient = membership.recipient
        recipient.memberships -= 1
        if recipient.memberships == 0 {
            recipients[ObjectIdentifier(recipient.connection)] = nil
        }
        rooms[membership.room] = members.isEmpty ? nil : members
        if members.isEmpty {
            _ = inbox.withLock { $0.rooms.remove(membership.room) }
        }
    }

    /// The broker confirmed the join at `joinSeq`: deliver what was held after it.
    func activate(_ membership: RoomMembership, joinSeq: UInt64) {
        eventLoop.preconditionInEventLoop()
        guard let held = membership.activate(joinSeq: joinSeq) else { return }
        let connection = membership.recipient.connection
        var wrote = false
        for event in held where event.seq > joinSeq {
            connection.write(frame: event.frame)
            wrote = true
        }
        if wrote { connection.flush() }
    }

    /// Starts keeping the frames delivered from now on, for a session whose `resume` is about to go out.
    func openWindow() -> ResumeWindow {
        eventLoop.preconditionInEventLoop()
        let window = ResumeWindow()
        windows.append(window)
        inbox.withLock { $0.wantsEveryRoom = true }
        return window
    }

    /// Stops keeping frames for `window`.
    func closeWindow(_ window: ResumeWindow) {
        eventLoop.preconditionInEventLoop()
        windows.removeAll { $0 === window }
        if windows.isEmpty {
            inbox.withLock { $0.wantsEveryRoom = false }
        }
    }

    /// Registers the memberships of a resumed session on `connection` (each active from its room's
    /// seq), after writing to them the frames of their rooms that `window` kept with a later seq, in
    /// order. Later frames reach them by ``deliver(_:)``. The caller flushes.
    func attachResumed(
        _ positions: [(room: String, seq: UInt64)],
        of connection: EngineConnection,
        window: ResumeWindow
    ) -> [RoomMembership] {
        eventLoop.preconditionInEventLoop()
        var byRoom: [String: RoomMembership] = [:]
        let memberships = positions.map { position in
            let membership = add(position.room, for: connection, state: .active(joinSeq: position.seq))
            byRoom[position.room] = membership
            return membership
        }
        for (room, seq, frame) in window.frames {
            guard let membership = byRoom[room], case .active(let joinSeq) = membership.state, seq > joinSeq else {
                continue
            }
            connection.write(frame: frame)
            membership.advance(to: seq)
        }
        return memberships
    }

    /// Writes each frame of `batch` to every member of its room that joined before it: a member's
    /// due frames that lie next to each other in the batch go out as one slice, and each touched
    /// connection is flushed once at the end.
    func deliver(_ batch: FanOutBatch) {
        eventLoop.preconditionInEventLoop()
        if !windows.isEmpty {
            let frames = batch.events.map { (room: $0.room, seq: $0.seq, frame: batch.copiedFrame(of: $0)) }
            for window in windows { window.record(frames) }
        }
        var written = 0
        var lastRoom: String?
        var members: [RoomMembership] = []
        for event in batch.events {
            if event.room != lastRoom {
                lastRoom = event.room
                members = rooms[event.room] ?? []
            }
            for membership in members {
                switch membership.state {
                case .active(let joinSeq):
                    guard event.seq > joinSeq else { continue }
                case .pending:
                    hold(event, of: batch, for: membership)
                    continue
                case .leaving, .takenOver:
                    continue
                }
                written += 1
                let recipient = membership.recipient
                guard let run = recipient.pendingRun else {
                    recipient.pendingRun = event.start..<event.end
                    touched.append(recipient)
                    continue
                }
                if run.upperBound == event.start {
                    recipient.pendingRun = run.lowerBound..<event.end
                } else {
                    recipient.connection.write(frame: batch.slice(run.lowerBound, run.upperBound))
                    recipient.pendingRun = event.start..<event.end
                }
            }
        }
        for recipient in touched {
            if let run = recipient.pendingRun {
                recipient.pendingRun = nil
                recipient.connection.writeAndFlush(frame: batch.slice(run.lowerBound, run.upperBound))
            }
        }
        touched.removeAll(keepingCapacity: true)
        if written > 0 { metrics.deliveries.increment(by: written) }
    }

    /// Keeps `event` for a member whose join is not confirmed yet (a copy: the batch's buffer is
    /// not kept alive by it), or disconnects the member past ``holdLimit``.
    private func hold(_ event: FanOutBatch.Event, of batch: FanOutBatch, for membership: RoomMembership) {
        let held = membership.hold(.init(seq: event.seq, frame: batch.copiedFrame(of: event)), limit: Self.holdLimit)
        if !held {
            membership.recipient.connection.close(reason: "too many events while joining; reconnect")
        }
    }

    /// The membership of `room` of connection `connectionID`, if on this loop, was taken over elsewhere:
    /// it gets `payload` and nothing more of the room (its session drops the membership when it next
    /// looks: a join, leave or message of the room, or the end of the connection).
    func takeOver(room: String, connectionID: UInt64, payload: [UInt8]) {
        eventLoop.preconditionInEventLoop()
        runPass()  // Whatever came before is delivered first.
        for membership in rooms[room] ?? [] where membership.recipient.connection.id == connectionID {
            guard membership.takeOver() else { continue }
            var frame = ByteBufferAllocator().buffer(capacity: payload.count + 10)
            WebSocketFrameBuilder.writeTextFrame(payload, into: &frame)
            membership.recipient.connection.writeAndFlush(frame: frame)
        }
    }

    /// The room's events (or the room) were lost: its members here are disconnected with `reason`
    /// so their clients re-join.
    func resync(room: String, reason: String) {
        eventLoop.preconditionInEventLoop()
        runPass()  // Whatever came before the disconnect is delivered first.
        for membership in rooms[room] ?? [] {
            membership.recipient.connection.close(reason: reason)
        }
    }
}
