import ChatLogging
import ChatWire
import Foundation
import Logging
import NIOCore
import NIOWebSocket
import SocketIO

/// Connection-state recovery: a CONNECT that resumes a session, and the broker's answer.
extension SocketIOSession {
    /// A CONNECT with recovery on: `{"pid","offset"}` (the offset may be missing when the client saw no
    /// event yet) asks to resume that session; anything else, or a failed resume, starts a fresh one.
    func connectRecovering(auth: JSONValue?) {
        guard let fields = auth?.objectValue, let pid = fields["pid"]?.stringValue, RecoveryIDs.isPid(pid) else {
            startFresh()
            return
        }
        let offset: RecoveryOffset?
        switch fields["offset"] {
        case nil, .null?:
            offset = nil
        case .string(let text)?:
            guard let read = RecoveryOffset(text: text) else {
                startFresh()
                return
            }
            offset = read
        case _?:
            startFresh()
            return
        }
        resume(pid: pid, offset: offset)
    }

    /// A new session: a new pid, announced in the CONNECT answer (the client's `recovered` is false).
    func startFresh() {
        let pid = RecoveryIDs.newPid()
        self.pid = pid
        namespaceConnected = true
        sendRaw(ServerEventEncoder.connectAck(sid: RecoveryIDs.sid(forPid: pid), pid: pid))
    }

    /// Asks the broker to move session `pid` here. On success the CONNECT answer repeats the same sid
    /// and pid (the client's `recovered` is true), then come the missed events in order, then what this
    /// loop delivered for those rooms meanwhile, then live events.
    func resume(pid: String, offset: RecoveryOffset?) {
        resuming = true
        // The broker may move memberships to this connection: closing must tell it.
        everJoined = true
        let loop = connection.eventLoop
        let window = NIOLoopBound(rooms.openWindow(), eventLoop: loop)
        inFlight += 1
        link.send(
            .resume(pid: pid, instance: offset?.instance ?? "", since: offset?.gseq),
            connectionID: connection.id,
            client: client
        ) {
            [self] result in
            loop.execute { [self] in
                inFlight -= 1
                resuming = false
                rooms.closeWindow(window.value)
                resumed(pid: pid, result: result, window: window.value)
            }
        }
    }

    func resumed(pid: String, result: Result<WireReply.Success, ChatError>, window: ResumeWindow) {
        guard case .success(let success) = result else {
            if case .failure(let error) = result {
                logger.info("recover", metadata: logMetadata(["reason": "not recovered: \(error.code.code)"]))
            }
            if !closed { startFresh() }
            return
        }
        // The link follows each room on this session's behalf; the memberships below unfollow.
        guard !closed, !window.overflowed else {
            for position in success.rooms { link.unfollow(position.room) }
            close(reason: "too many events while recovering; reconnect")
            return
        }
        self.pid = pid
        namespaceConnected = true
        connection.write(
            frame: WebSocketFrameBuilder.textFrame(
                ServerEventEncoder.connectAck(sid: RecoveryIDs.sid(forPid: pid), pid: pid)
            )
        )
        for event in success.events {
            let text = ServerEventEncoder.appendingOffset(
                RecoveryOffset(instance: success.instance, gseq: event.gseq),
                to: event.payload
            )
            connection.write(frame: WebSocketFrameBuilder.textFrame(text))
        }
        let positions = success.rooms.map { (room: $0.room, seq: $0.seq) }
        for membership in rooms.attachResumed(positions, of: connection, window: window) {
            memberships[membership.room] = membership
        }
        connection.flush()
        metrics.deliveries.increment(by: success.events.count)
        logger.info(
            "recover",
            metadata: logMetadata([
                "members": "\(success.rooms.count)", "reason": "recovered: replayed \(success.events.count) events",
            ])
        )
    }
}
