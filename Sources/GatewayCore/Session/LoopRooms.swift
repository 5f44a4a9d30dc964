import NIOCore
import Synchronization

/// The room memberships of the connections on one event loop.
///
/// Confined to its event loop: the fan-out hops here once per batch and writes the shared frame
/// buffers to each member without locks or per-recipient hops.
final class LoopRooms: @unchecked Sendable {
    /// Events held for one pending join before the member is disconnected.
    static let holdLimit = 4_096

    let eventLoop: any EventLoop
    /// Batches handed to this loop by ``BroadcastFanOut`` and not delivered yet (any thread).
    let queuedBatches = Atomic<Int>(0)
    private let metrics: GatewayMetrics
    private var rooms: [String: [RoomMembership]] = [:]
    private var toFlush: [SocketIOSession] = []
    /// Sessions' resumes in flight on this loop: each keeps the frames delivered meanwhile.
    private var windows: [ResumeWindow] = []

    init(eventLoop: any EventLoop, metrics: GatewayMetrics) {
        self.eventLoop = eventLoop
        self.metrics = metrics
    }

    /// Registers a membership (pending until ``activate(_:joinSeq:)``).
    func add(_ membership: RoomMembership) {
        eventLoop.preconditionInEventLoop()
        rooms[membership.room, default: []].append(membership)
    }

    /// Removes a membership.
    func remove(_ membership: RoomMembership) {
        eventLoop.preconditionInEventLoop()
        guard var members = rooms[membership.room] else { return }
        members.removeAll { $0 === membership }
        rooms[membership.room] = members.isEmpty ? nil : members
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
        return window
    }

    /// Stops keeping frames for `window`.
    func closeWindow(_ window: ResumeWindow) {
        eventLoop.preconditionInEventLoop()
        windows.removeAll { $0 === window }
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

    /// Writes each frame to every member of its room that joined before it, then flushes each
    /// touched connection once.
    func deliver(_ frames: [(room: String, seq: UInt64, frame: ByteBuffer)]) {
        eventLoop.preconditionInEventLoop()
        for window in windows { window.record(frames) }
        var written = 0
        for (room, seq, frame) in frames {
            guard let members = rooms[room] else { continue }
            for membership in members where !membership.leaving {
                guard let joinSeq = membership.joinSeq else {
                    if membership.held.count < Self.holdLimit {
                        membership.held.append((seq, frame))
                    } else {
                        membership.session.close(reason: "too many events while joining; reconnect")
                    }
                    continue
                }
                guard seq > joinSeq else { continue }
                let session = membership.session
                session.connection.write(frame: frame)
                written += 1
                if !session.needsFlush {
                    session.needsFlush = true
                    toFlush.append(session)
                }
            }
        }
        for session in toFlush {
            session.needsFlush = false
            session.connection.flush()
        }
        toFlush.removeAll(keepingCapacity: true)
        if written > 0 { metrics.deliveries.increment(by: written) }
    }

    /// The room's events (or the room) were lost: its members here are disconnected with `reason`
    /// so their clients re-join.
    func resync(room: String, reason: String) {
        eventLoop.preconditionInEventLoop()
        for membership in rooms[room] ?? [] {
            membership.session.close(reason: reason)
        }
    }
}
