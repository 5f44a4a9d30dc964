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
    /// Sessions written to in the current pass, flushed at its end.
    private var touched: [SocketIOSession] = []
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

    /// Registers a membership (pending until ``activate(_:joinSeq:)``).
    func add(_ membership: RoomMembership) {
        eventLoop.preconditionInEventLoop()
        if rooms[membership.room] == nil {
            // Before the join goes to the broker: every event after the join's seq finds the room here.
            _ = inbox.withLock { $0.rooms.insert(membership.room) }
        }
        rooms[membership.room, default: []].append(membership)
    }

    /// The members of each room on this loop (those leaving left out), for `/status`.
    func memberCounts() -> [String: Int] {
        eventLoop.preconditionInEventLoop()
        var counts: [String: Int] = [:]
        for (room, members) in rooms {
            let count = members.count(where: { !$0.leaving })
            if count > 0 { counts[room] = count }
        }
        return counts
    }

    /// Removes a membership.
    func remove(_ membership: RoomMembership) {
        eventLoop.preconditionInEventLoop()
        guard var members = rooms[membership.room] else { return }
        members.removeAll { $0 === membership }
        rooms[membership.room] = members.isEmpty ? nil : members
        if members.isEmpty {
            _ = inbox.withLock { $0.rooms.remove(membership.room) }
        }
    }

    /// The broker confirmed the join at `joinSeq`: deliver what was held after it.
    func activate(_ membership: RoomMembership, joinSeq: UInt64) {
        eventLoop.preconditionInEventLoop()
        membership.joinSeq = joinSeq
        let held = membership.held
        membership.held = []
        var wrote = false
        for event in held where event.seq > joinSeq {
            membership.session.connection.write(frame: event.frame)
            wrote = true
        }
        if wrote { membership.session.connection.flush() }
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

    /// Registers the memberships of a resumed session (each with `joinSeq` = its `resumed` event's seq),
    /// after writing to them the frames of their rooms that `window` kept with a later seq, in order.
    /// Later frames reach them by ``deliver(_:)``. The caller flushes.
    func attachResumed(_ memberships: [RoomMembership], window: ResumeWindow) {
        eventLoop.preconditionInEventLoop()
        var byRoom: [String: RoomMembership] = [:]
        for membership in memberships {
            byRoom[membership.room] = membership
            add(membership)
        }
        for (room, seq, frame) in window.frames {
            guard let membership = byRoom[room], let joinSeq = membership.joinSeq, seq > joinSeq else { continue }
            membership.session.connection.write(frame: frame)
            membership.joinSeq = seq
        }
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
            for membership in members where !membership.leaving {
                guard let joinSeq = membership.joinSeq else {
                    hold(event, of: batch, for: membership)
                    continue
                }
                guard event.seq > joinSeq else { continue }
                written += 1
                let session = membership.session
                guard let run = session.pendingRun else {
                    session.pendingRun = event.start..<event.end
                    touched.append(session)
                    continue
                }
                if run.upperBound == event.start {
                    session.pendingRun = run.lowerBound..<event.end
                } else {
                    session.connection.write(frame: batch.slice(run.lowerBound, run.upperBound))
                    session.pendingRun = event.start..<event.end
                }
            }
        }
        for session in touched {
            if let run = session.pendingRun {
                session.pendingRun = nil
                session.connection.writeAndFlush(frame: batch.slice(run.lowerBound, run.upperBound))
            }
        }
        touched.removeAll(keepingCapacity: true)
        if written > 0 { metrics.deliveries.increment(by: written) }
    }

    /// Keeps `event` for a member whose join is not confirmed yet (a copy: the batch's buffer is
    /// not kept alive by it), or disconnects the member past ``holdLimit``.
    private func hold(_ event: FanOutBatch.Event, of batch: FanOutBatch, for membership: RoomMembership) {
        if membership.held.count < Self.holdLimit {
            membership.held.append((event.seq, batch.copiedFrame(of: event)))
        } else {
            membership.session.close(reason: "too many events while joining; reconnect")
        }
    }

    /// The room's events (or the room) were lost: its members here are disconnected with `reason`
    /// so their clients re-join.
    func resync(room: String, reason: String) {
        eventLoop.preconditionInEventLoop()
        runPass()  // Whatever came before the disconnect is delivered first.
        for membership in rooms[room] ?? [] {
            membership.session.close(reason: reason)
        }
    }
}
