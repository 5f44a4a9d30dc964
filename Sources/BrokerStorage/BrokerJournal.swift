import Dispatch
import Logging
import RoomBrokerCore
import Synchronization

/// The broker's journal on disk (`--data-dir`): what the loop calls. It reads the state back at start
/// (``open(path:mode:logger:)``), appends the node's ``JournalEntry``s (``append(_:)``), saves
/// snapshots off the loop (``saveSnapshot(_:base:)``), and says how far the disk has it
/// (``durablePosition``) for `--fsync always`.
///
/// Files: segments of records and snapshots, each of a lineage (``DataFile``); after a snapshot is
/// saved, the two newest snapshots and the segments after them are kept, the rest removed.
public final class BrokerJournal: Sendable {
    /// Entry bytes the writer may fall behind by default before it drops them and asks for a new lineage.
    public static let defaultQueueLimit = 256 << 20
    /// The folder.
    public let directory: DataDirectory
    private let writer: JournalWriter
    private let logger: Logger
    private let saver = DispatchQueue(label: "broker-journal-snapshot", qos: .utility)
    private let saving = Atomic<Int>(0)
    /// The lineage now written, and the highest one in the folder.
    private let generation: Atomic<UInt64>
    private let highestGeneration: Atomic<UInt64>
    /// Size of the last snapshot saved, bytes.
    private let lastSnapshotBytes = Atomic<Int>(0)

    private init(directory: DataDirectory, writer: JournalWriter, logger: Logger, generation: UInt64, highest: UInt64) {
        self.directory = directory
        self.writer = writer
        self.logger = logger
        self.generation = Atomic(generation)
        self.highestGeneration = Atomic(highest)
    }

    /// Opens the folder at `path` (creating it), reads the state back, and starts the writer; the next
    /// records go to a new segment after the state read back. `queueLimit`: bytes of entries the writer
    /// may fall behind before it drops them and asks for a new lineage.
    public static func open(
        path: String,
        mode: FsyncMode,
        queueLimit: Int = BrokerJournal.defaultQueueLimit,
        logger: Logger
    ) throws -> (journal: BrokerJournal, state: RecoveredState?) {
        let directory = try DataDirectory(path: path)
        let outcome = try JournalRecovery(directory: directory, logger: logger).read()
        let writer = JournalWriter(directory: directory, mode: mode, queueLimit: queueLimit, logger: logger)
        let journal = BrokerJournal(
            directory: directory,
            writer: writer,
            logger: logger,
            generation: outcome.generation,
            highest: max(outcome.highestGeneration, outcome.generation)
        )
        if outcome.state != nil {
            writer.enqueue(.rotate(.segment(generation: outcome.generation, first: outcome.nextPosition)))
        }
        return (journal, outcome.state)
    }

    /// The fsync mode.
    public var mode: FsyncMode { writer.mode }

    /// The last update on disk as the mode promises (see ``FsyncMode``).
    public var durablePosition: UInt64 { writer.durablePosition }

    /// Whether the journal cannot be written now (the node refuses new rooms and messages meanwhile).
    public var isRefusing: Bool { writer.isRefusing }

    /// Readable when ``durablePosition`` advanced (`always` mode); ``clearWake()`` after.
    public var wakeDescriptor: Int32 { writer.wakeDescriptor }

    /// Clears ``wakeDescriptor``.
    public func clearWake() { writer.clearWake() }

    /// True once when the journal lost records or a lineage's snapshot could not be saved: the loop
    /// hands it a new lineage (a snapshot of the whole state).
    public func takeLineageRequest() -> Bool { writer.takeLineageRequest() }

    /// Whether a snapshot is being saved.
    public var isSaving: Bool { saving.load(ordering: .relaxed) > 0 }

    /// Appends `entry` (loop thread, in order).
    public func append(_ entry: JournalEntry) {
        switch entry {
        case .updates, .term, .instance:
            writer.enqueue(.entry(entry))
        case .lineage(let base, let snapshot):
            let next = highestGeneration.wrappingAdd(1, ordering: .relaxed).newValue
            generation.store(next, ordering: .relaxed)
            writer.enqueue(.rotate(.segment(generation: next, first: base + 1)))
            save(snapshot, as: .snapshot(generation: next, base: base), lineage: true)
        }
    }

    /// Saves `snapshot`, taken after update `base` (every update up to it already appended), off the
    /// loop; the journal goes on in a new segment.
    public func saveSnapshot(_ snapshot: BrokerSnapshot, base: UInt64) {
        let current = generation.load(ordering: .relaxed)
        writer.enqueue(.rotate(.segment(generation: current, first: base + 1)))
        save(snapshot, as: .snapshot(generation: current, base: base), lineage: false)
    }

    private func save(_ snapshot: BrokerSnapshot, as file: DataFile, lineage: Bool) {
        saving.add(1, ordering: .relaxed)
        saver.async { [self] in
            defer { saving.subtract(1, ordering: .relaxed) }
            let start = ContinuousClock.now
            do {
                let bytes = try SnapshotFile.write(snapshot, as: file, in: directory)
                lastSnapshotBytes.store(bytes, ordering: .relaxed)
                logger.info(
                    "snapshot-saved",
                    metadata: [
                        "file": "\(file.name)", "rooms": "\(snapshot.registry.rooms.count)",
                        "reason": "\(bytes) bytes in \(start.duration(to: .now)) off the loop",
                    ]
                )
                writer.enqueue(.snapshotSaved(file))
            } catch {
                logger.error("snapshot-save-failed", metadata: ["file": "\(file.name)", "reason": "\(error)"])
                // A lineage without its snapshot cannot be read back: ask for another.
                if lineage { writer.requestLineage() }
            }
        }
    }

    /// Writes and fsyncs what is queued, waits for a snapshot being saved, and releases the folder.
    public func close() {
        saver.sync {}
        writer.close()
        directory.unlock()
    }
}
