import BrokerStorage
import ChatWire
import Logging
import RoomBrokerCore

/// The loop's part in keeping the journal: the state read back at start, snapshots when due, a new
/// lineage when the journal lost records, and refusals while the disk is full.
extension BrokerLoop {
    /// Replays the state the journal read back into `node`, before anything is served.
    func recover(_ node: inout BrokerNode, from state: RecoveredState) {
        let started = ContinuousClock.now
        let recovery = node.recover(state, now: BrokerClock.now())
        let numbering =
            recovery.newInstance
            ? "a new instance id: events after the last fsync may be lost, so gateways make their members rejoin"
            : "every acknowledged input kept (fsync always)"
        logger.notice(
            "recovered",
            metadata: [
                "rooms": "\(node.engine.registry.rooms.count)", "seq": "\(recovery.position)",
                "reason":
                    "\(recovery.replayed) inputs replayed after the snapshot in \(started.duration(to: .now)); \(numbering)",
            ]
        )
    }

    /// Once per pass, after the updates are flushed: says whether the disk refuses writes, and saves a
    /// snapshot when enough journal has grown. Returns the node's new lineage when the journal asks for
    /// one (the caller performs it).
    func keepJournal(_ journal: BrokerJournal, _ node: inout BrokerNode) -> [NodeAction] {
        let refusing = journal.isRefusing
        if refusing != node.storageRefusing {
            node.storageRefusing = refusing
            configuration.metrics?.storageRefusing(refusing)
        }
        if journal.takeLineageRequest() { return node.restartLineage() }
        if !journal.isSaving, !refusing, let snapshot = node.diskSnapshot(everyBytes: configuration.snapshotEveryBytes)
        {
            journal.saveSnapshot(snapshot, base: node.lastUpdate)
        }
        return []
    }
}
