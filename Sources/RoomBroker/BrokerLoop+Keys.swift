import Glibc
import ZeroMQ

extension BrokerLoop {
    /// Applies allow-lists read again on SIGHUP: new handshakes are decided by them, and every later
    /// message is checked against them (``LinkGuard``). Logs the keys added and removed; true when a
    /// key was removed (its connections to the broadcasts socket must then be cut).
    func reload(_ authorizer: ZAPAuthorizer, _ sockets: Sockets, _ guardian: LinkGuard) -> Bool {
        sockets.zap?.replace(authorizer)
        let changes = guardian.reload(authorizer)
        logger.notice(
            "keys-reloaded",
            metadata: [
                "added": "\(changes.added.joined(separator: ","))",
                "removed": "\(changes.removed.joined(separator: ","))",
                "keys": "\(authorizer.allowLists[BrokerCurve.Domain.gateways.rawValue]?.count ?? 0)",
            ]
        )
        return !changes.removed.isEmpty
    }

    /// The gateways' XPUB socket, bound to `--broadcasts` (CURVE server with the ZAP handler's allow-list).
    /// XPUB rather than PUB: it also tells the broker of each new subscription (verbose: every one, not
    /// only the first per topic), which it answers with a marker on that topic.
    func openBroadcasts(_ context: ZMQContext) throws -> ZMQSocket {
        let broadcasts = try context.socket(.xpub)
        try configuration.curve?.serve(on: broadcasts, domain: .gateways)
        try broadcasts.set(.xpubVerbose(true))
        try broadcasts.set(.sendHighWaterMark(configuration.broadcastHighWaterMark))
        // Inbound on an XPUB are only subscriptions: a flag byte and a room topic.
        try broadcasts.set(.maxMessageSize(256))
        try broadcasts.bind(configuration.broadcastsEndpoint)
        return broadcasts
    }

    /// Closes the broadcasts socket and binds a new one in its place, so that a removed key's
    /// subscriptions end (libzmq cannot cut one subscriber of an XPUB): every gateway's SUB reconnects
    /// within its reconnect interval, the handshake asks the new allow-list, and the others resubscribe
    /// and replay what they missed by sequence number (the broker answers each subscription with the
    /// room's head). Nil when the endpoint cannot be bound again within 2 s (logged as critical; the
    /// caller stops the broker, whose standby or supervisor takes over).
    func replaceBroadcasts(_ old: ZMQSocket, _ context: ZMQContext) -> ZMQSocket? {
        try? old.set(.linger(milliseconds: 0))
        old.close()
        // The old listener closes on libzmq's I/O thread: the address may be busy for a moment.
        var lastError: (any Error)?
        for _ in 0..<200 {
            do {
                let replaced = try openBroadcasts(context)
                logger.notice(
                    "broadcasts-rebound",
                    metadata: ["reason": "a key was removed: its subscriptions are cut; the other gateways resubscribe"]
                )
                return replaced
            } catch {
                lastError = error
                usleep(10_000)
            }
        }
        logger.critical(
            "broadcasts-lost",
            metadata: [
                "reason": "--broadcasts could not be bound again: \(String(describing: lastError)); restart the broker"
            ]
        )
        return nil
    }
}
