import ChatWire
import Logging

/// The frames a node sends: an engine output as ZeroMQ frames, their digest for the standby, the
/// answer of a broker that is not active.
extension BrokerNode {
    /// Broadcasts first, then the reply: a gateway that subscribed before forwarding a join then sees
    /// the joined event no later than the reply that tells it the join's sequence number.
    func encode(_ output: BrokerOutput, identity: [UInt8]?) -> [NodeAction] {
        var actions = output.broadcasts.map { NodeAction.publish($0.encoded()) }
        if let reply = output.reply, let identity {
            let frame = reply.encoded()
            // The engine trims replies to fit; a larger one would be refused by the gateway's
            // ZMQ_MAXMSGSIZE and disconnect it, so it is never sent.
            if frame.count <= WireFormat.maxFrameSize {
                actions.append(.reply(identity: identity, frame: frame))
            } else {
                logger.error(
                    "reply-too-large",
                    metadata: [
                        "gateway": "\(String(decoding: identity, as: UTF8.self))",
                        "reason": "\(reply.kind): \(frame.count) bytes",
                    ]
                )
            }
        }
        return actions
    }

    /// The digest of the frames an input produced (replies and broadcasts; routing ids left out).
    static func digest(of actions: [NodeAction]) -> UInt64 {
        var digest = OutputDigest()
        for action in actions {
            switch action {
            case .reply(_, let frame), .toPeer(let frame): digest.add(frame)
            case .publish(let frames):
                for frame in frames { digest.add(frame) }
            case .snapshotWork, .journal: break
            }
        }
        return digest.value
    }

    func notActive(identity: [UInt8], frame: [UInt8]) -> NodeAction {
        refusal(ChatError(.notActive, "this broker is the standby; send commands to the active one"), identity, frame)
    }

    /// The answer to a command refused before the engine saw it (not applied, not replicated).
    func refusal(_ error: ChatError, _ identity: [UInt8], _ frame: [UInt8]) -> NodeAction {
        let reply: WireReply
        if let command = try? WireCommand.decode(frame) {
            reply = WireReply(to: command, result: .failure(error))
        } else {
            let ids = WireCommand.ids(ofUndecodable: frame)
            reply = WireReply(
                kind: .invalid,
                requestID: ids.requestID,
                connectionID: ids.connectionID,
                result: .failure(error)
            )
        }
        return .reply(identity: identity, frame: reply.encoded())
    }

    static func isHello(_ frame: [UInt8]) -> Bool {
        guard let command = try? WireCommand.decode(frame), case .hello = command.body else { return false }
        return true
    }

    /// The standby's engine logs only warnings and worse: its events are the active's, logged there.
    static func quiet(_ logger: Logger) -> Logger {
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        return quiet
    }
}
