import ZeroMQ

extension BrokerLoop {
    /// Applies allow-lists read again on SIGHUP: new handshakes are decided by them, and every later
    /// message is checked against them (``LinkGuard``). Logs the keys added and removed.
    func reload(_ authorizer: ZAPAuthorizer, _ sockets: Sockets, _ guardian: LinkGuard) {
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
    }
}
