import ArgumentParser
import BrokerStorage

/// The broker's options for its journal on disk.
struct StorageOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Keep rooms on disk in this folder (created 0700): a journal of every change and snapshots; read back at start.",
            discussion:
                "Without it rooms live in memory only (and in the standby of a pair). One broker per folder (a lock file); each broker of a pair has its own.",
            valueName: "dir"
        )
    )
    var dataDir: String?

    @Option(
        help: ArgumentHelp(
            "When the journal reaches the disk: always (a reply waits for its fsync; many share one), batch (fsync every 10 ms: a power loss may lose that much of what was acknowledged), off (never fsync: the system decides).",
            discussion:
                "A killed broker loses nothing written in any mode; the modes differ on a power loss or a kernel crash."
        )
    )
    var fsync: FsyncMode = .batch

    @Option(
        help:
            "MiB of journal after which a snapshot is saved (or the state's size, if larger); older files are then removed."
    )
    var snapshotEvery = 64

    func validate() throws {
        guard (1...65_536).contains(snapshotEvery) else {
            throw ValidationError("--snapshot-every must be 1 to 65536 (MiB)")
        }
        if dataDir == "" { throw ValidationError("--data-dir needs a folder path") }
    }
}

extension FsyncMode: ExpressibleByArgument {}
