import ChatWire
import XCTest

@testable import GatewayCore

/// Helpers for tests that drive ``BrokerLinkState`` without sockets: what its actions say, and the
/// replies and broadcasts a broker would send.
protocol BrokerLinkStateTesting {}

extension BrokerLinkStateTesting {
    typealias State = BrokerLinkState<String>

    func sent(_ actions: [State.Action]) -> [WireCommand] {
        actions.compactMap { if case .send(let command, _) = $0 { return command } else { return nil } }
    }

    /// The commands sent and the index of the broker each goes to.
    func sends(_ actions: [State.Action]) -> [(command: WireCommand, broker: Int)] {
        actions.compactMap {
            if case .send(let command, let broker) = $0 { return (command, broker) } else { return nil }
        }
    }

    func completions(_ actions: [State.Action]) -> [String: Result<WireReply.Success, ChatError>] {
        Dictionary(
            uniqueKeysWithValues: actions.compactMap {
                if case .complete(let caller, let result) = $0 { return (caller, result) } else { return nil }
            }
        )
    }

    func delivered(_ actions: [State.Action]) -> [UInt64] {
        actions.compactMap { if case .deliver(let frame) = $0 { return frame.seq } else { return nil } }
    }

    func disconnects(_ actions: [State.Action]) -> [String: RoomDisconnectReason] {
        Dictionary(
            uniqueKeysWithValues: actions.compactMap {
                if case .disconnectMembers(let room, let reason) = $0 { return (room, reason) } else { return nil }
            }
        )
    }

    func notices(_ actions: [State.Action]) -> [BrokerLinkNotice] {
        actions.compactMap { if case .notice(let notice) = $0 { return notice } else { return nil } }
    }

    func only(_ command: [WireCommand], file: StaticString = #filePath, line: UInt = #line) throws -> WireCommand {
        XCTAssertEqual(command.count, 1, "\(command)", file: file, line: line)
        return try XCTUnwrap(command.first, file: file, line: line)
    }

    func success(
        _ command: WireCommand,
        room: String = "",
        seq: UInt64 = 0,
        events: [UInt64] = [],
        instance: String = "",
        term: UInt64 = 0
    ) -> WireReply {
        WireReply(
            to: command,
            result: .success(
                .init(
                    room: room,
                    seq: seq,
                    events: events.map { .init(seq: $0, payload: payload($0)) },
                    instance: instance,
                    term: term
                )
            )
        )
    }

    func failure(_ command: WireCommand, _ code: ChatErrorCode) -> WireReply {
        WireReply(to: command, result: .failure(ChatError(code, "refused")))
    }

    func errorCode(_ result: Result<WireReply.Success, ChatError>?) -> ChatErrorCode? {
        guard case .failure(let error) = result else { return nil }
        return error.code
    }

    func payload(_ seq: UInt64) -> [UInt8] { Array("e\(seq)".utf8) }

    func event(
        _ room: String,
        _ seq: UInt64,
        kind: BroadcastKind = .message,
        gateway: String = "gw-other",
        connection: UInt64 = 0
    ) -> WireBroadcast {
        WireBroadcast(
            kind: kind,
            room: room,
            seq: seq,
            gateway: gateway,
            connectionID: connection,
            payload: payload(seq)
        )
    }

    func head(_ room: String, _ seq: UInt64) -> WireBroadcast {
        WireBroadcast(kind: .head, room: room, seq: seq, gateway: "", connectionID: 0, payload: [])
    }
}
