import Dispatch
import Foundation
import Glibc
import Logging
import RoomBrokerCore
import Synchronization

/// The thread that appends journal records to segment files and fsyncs them (``FsyncMode``): the
/// broker's loop hands it bytes and goes on; it writes everything queued with one `write`, and in
/// `always` mode one fsync covers everything written meanwhile (group commit), after which it wakes the
/// loop (``wakeDescriptor``) to release the replies that waited.
///
/// When a write fails (the disk is full), it cuts the partial write off, keeps the records in memory
/// (up to ``maxPendingBytes``) and retries every half second; meanwhile ``isRefusing`` is true. Past
/// that bound it drops them and waits for free space, then asks for a new lineage (``takeLineageRequest()``):
/// a fresh snapshot that covers what was dropped.
final class JournalWriter: Sendable {
    /// What the loop queues, in order.
    enum Item {
        /// An entry to append as a record (framed and checksummed on this thread, not the loop's).
        case entry(JournalEntry)
        /// Close the current segment and start `segment` (a snapshot was taken, or a lineage started).
        case rotate(DataFile)
        /// `snapshot` is on disk: older files it makes unneeded are removed.
        case snapshotSaved(DataFile)
    }

    /// In `batch` mode, the longest time written records wait for an fsync, ms.
    static let batchMilliseconds = 10
    /// A segment is closed past this size and the next one started.
    static let segmentBytes = 64 << 20
    /// Records kept in memory while they cannot be written.
    static let maxPendingBytes = 64 << 20

    private struct Queue {
        var items: [Item] = []
        var bytes = 0
        var stopping = false
        /// Entries were refused because the writer fell ``queueLimit`` bytes behind (a stalled disk).
        var overflowed = false
    }

    /// This writer's bound of queued entry bytes (``BrokerJournal/defaultQueueLimit`` by default):
    /// further entries are dropped and a new lineage covers them.
    let queueLimit: Int

    let mode: FsyncMode
    private let directory: DataDirectory
    private let logger: Logger
    private let queue = Mutex(Queue())
    private let signal = DispatchSemaphore(value: 0)
    private let durable = Atomic<UInt64>(0)
    private let refusing = Atomic<Bool>(false)
    private let lineageRequested = Atomic<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)
    /// Readable (a pipe's end) when ``durablePosition`` advanced in `always` mode.
    let wakeDescriptor: Int32
    private let wakeWriter: Int32

    init(directory: DataDirectory, mode: FsyncMode, queueLimit: Int = BrokerJournal.defaultQueueLimit, logger: Logger) {
        self.queueLimit = queueLimit
        self.directory = directory
        self.mode = mode
        self.logger = logger
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) == 0 {
            for end in ends {
                _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
                _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            }
        }
        wakeDescriptor = ends[0]
        wakeWriter = ends[1]
        let thread = Thread { [self] in
            var state = WriterState()
            run(&state)
        }
        thread.name = "broker-journal"
        thread.start()
    }

    /// The last update on disk as the mode promises it (fsynced in `always` and `batch`, written in `off`).
    var durablePosition: UInt64 { durable.load(ordering: .acquiring) }

    /// Whether records cannot be written now (the disk is full).
    var isRefusing: Bool { refusing.load(ordering: .relaxed) }

    /// True once after the writer dropped records it could not write: the loop starts a new lineage.
    func takeLineageRequest() -> Bool { lineageRequested.exchange(false, ordering: .relaxed) }

    /// Asks for a new lineage (a snapshot of a lineage could not be saved).
    func requestLineage() { lineageRequested.store(true, ordering: .relaxed) }

    /// Queues `item` (any thread).
    func enqueue(_ item: Item) {
        let size: Int
        if case .entry(.updates(_, let frame)) = item { size = frame.count } else { size = 0 }
        queue.withLock {
            if case .entry = item, $0.bytes + size > queueLimit {
                $0.overflowed = true
                return
            }
            $0.items.append(item)
            $0.bytes += size
        }
        signal.signal()
    }

    /// Clears the wake-up descriptor (the loop, after it became readable).
    func clearWake() {
        var bytes = [UInt8](repeating: 0, count: 256)
        while read(wakeDescriptor, &bytes, bytes.count) == bytes.count {}
    }

    /// Writes and fsyncs what is queued, then stops the thread.
    func close() {
        queue.withLock { $0.stopping = true }
        signal.signal()
        stopped.wait()
        Glibc.close(wakeDescriptor)
        Glibc.close(wakeWriter)
    }

    // MARK: The writer thread

    /// What only the writer thread touches.
    private struct WriterState {
        var file: POSIXFile?
        var segment: DataFile?
        var offset = 0
        var pending: [UInt8] = []
        var pendingLast: UInt64?
        var written: UInt64 = 0
        var dirty = false
        var lastSync = ContinuousClock.now
        /// Records were dropped: nothing is written until the next lineage.
        var broken = false
    }

    private func run(_ state: inout WriterState) {
        while true {
            let wait: Duration =
                state.dirty && mode == .batch
                ? max(.zero, .milliseconds(Self.batchMilliseconds) - state.lastSync.duration(to: .now))
                : (refusing.load(ordering: .relaxed) ? .milliseconds(500) : .seconds(1))
            let nanoseconds = wait.components.seconds * 1_000_000_000 + wait.components.attoseconds / 1_000_000_000
            _ = signal.wait(timeout: .now() + .nanoseconds(Int(nanoseconds)))
            let (items, stopping, overflowed) = queue.withLock { queued in
                defer {
                    queued.items = []
                    queued.bytes = 0
                    queued.overflowed = false
                }
                return (queued.items, queued.stopping, queued.overflowed)
            }
            if overflowed, !state.broken {
                logger.error(
                    "journal-dropped",
                    metadata: [
                        "reason":
                            "the disk fell \(queueLimit) bytes behind: entries dropped; a new snapshot covers them"
                    ]
                )
                state.pending = []
                state.pendingLast = nil
                state.broken = true
                lineageRequested.store(true, ordering: .relaxed)
            }
            // A lineage among these items ends the break.
            for item in items { handle(item, &state) }
            writePending(&state)
            syncIfDue(&state, force: stopping)
            if state.broken, refusing.load(ordering: .relaxed), directory.freeBytes() >= Self.maxPendingBytes * 2 {
                refusing.store(false, ordering: .relaxed)
                lineageRequested.store(true, ordering: .relaxed)
                logger.notice("journal-space", metadata: ["reason": "free space again: starting a new snapshot"])
            }
            if stopping {
                state.file?.close()
                stopped.signal()
                return
            }
        }
    }

    private func handle(_ item: Item, _ state: inout WriterState) {
        switch item {
        case .entry(let entry):
            guard !state.broken, state.file != nil else { return }
            JournalRecord.append(entry, to: &state.pending)
            if case .updates(let last, _) = entry { state.pendingLast = last }
            if state.pending.count > Self.maxPendingBytes {
                logger.error(
                    "journal-dropped",
                    metadata: [
                        "reason":
                            "\(state.pending.count) bytes could not be written: dropped; a new snapshot is taken once there is space"
                    ]
                )
                state.pending = []
                state.pendingLast = nil
                state.broken = true
            }
        case .rotate(let segment):
            writePending(&state)
            syncIfDue(&state, force: true)
            // A new lineage (or the first segment) ends a break; a rotation within a broken lineage does not.
            if state.broken, let current = state.segment, segment.generation <= current.generation { return }
            state.file?.close()
            state.file = nil
            state.broken = false
            open(segment, &state)
        case .snapshotSaved(let snapshot):
            removeUnneeded(keeping: snapshot)
        }
    }

    private func open(_ segment: DataFile, _ state: inout WriterState) {
        let header = FileHeader(
            kind: .segment,
            generation: segment.generation,
            position: segment.position,
            mode: mode.byte
        )
        do {
            let file = try POSIXFile(path: directory.path(of: segment), flags: O_WRONLY | O_CREAT | O_TRUNC)
            try file.writeAll(header.encoded)
            if mode != .off { try file.sync() }
            try directory.syncDirectory()
            state.file = file
            state.segment = segment
            state.offset = FileHeader.size
            state.written = segment.position - 1
        } catch {
            logger.error("journal-open-failed", metadata: ["file": "\(segment.name)", "reason": "\(error)"])
            refusing.store(true, ordering: .relaxed)
            state.broken = true
            state.segment = segment
        }
    }

    private func writePending(_ state: inout WriterState) {
        guard !state.pending.isEmpty, let file = state.file else { return }
        do {
            try file.writeAll(state.pending)
        } catch {
            // Cut off what part of it was written; keep it all and try again later.
            try? file.truncate(to: state.offset)
            if !refusing.exchange(true, ordering: .relaxed) {
                logger.error(
                    "journal-full",
                    metadata: ["reason": "\(error): refusing new rooms and messages until it can write again"]
                )
            }
            return
        }
        if refusing.exchange(false, ordering: .relaxed) {
            logger.notice("journal-writing", metadata: ["reason": "the journal can be written again"])
        }
        state.offset += state.pending.count
        state.pending.removeAll(keepingCapacity: state.pending.capacity <= 1 << 20)
        if let last = state.pendingLast { state.written = last }
        state.pendingLast = nil
        state.dirty = true
        if state.offset >= Self.segmentBytes, let segment = state.segment {
            handle(.rotate(.segment(generation: segment.generation, first: state.written + 1)), &state)
        }
    }

    private func syncIfDue(_ state: inout WriterState, force: Bool) {
        guard state.dirty, let file = state.file else { return }
        switch mode {
        case .off:
            state.dirty = false
        case .batch where !force && state.lastSync.duration(to: .now) < .milliseconds(Self.batchMilliseconds):
            return
        case .always, .batch:
            do {
                try file.sync()
            } catch {
                // After a failed fsync the kernel may have dropped the pages: nothing in this lineage is
                // trusted any more; a new snapshot replaces it.
                logger.critical("journal-fsync-failed", metadata: ["reason": "\(error): starting a new snapshot"])
                state.broken = true
                lineageRequested.store(true, ordering: .relaxed)
                return
            }
            state.lastSync = .now
            state.dirty = false
        }
        guard state.written > durable.load(ordering: .relaxed) else { return }
        durable.store(state.written, ordering: .releasing)
        if mode == .always {
            var one: UInt8 = 1
            _ = write(wakeWriter, &one, 1)
        }
    }

    /// Keeps the two newest snapshots and the segments after each; removes the rest.
    private func removeUnneeded(keeping saved: DataFile) {
        let files = directory.files()
        let snapshots = files.filter { if case .snapshot = $0 { return $0 <= saved } else { return false } }
        let kept = Array(snapshots.suffix(2))
        guard kept.contains(saved) else { return }
        let segments = files.filter { if case .segment = $0 { return true } else { return false } }
        var removed = 0
        for file in files {
            switch file {
            case .snapshot:
                guard !kept.contains(file), file < saved else { continue }
            case .segment(let generation, _):
                guard generation <= saved.generation else { continue }
                let next = segments.first { $0.generation == generation && $0 > file }
                let end = next.map { $0.position - 1 } ?? .max
                let needed = kept.contains { $0.generation == generation && end > $0.position }
                guard !needed else { continue }
            }
            directory.remove(file)
            removed += 1
        }
        if removed > 0 {
            logger.info(
                "journal-cleaned",
                metadata: ["reason": "\(removed) files no longer needed after \(saved.name)"]
            )
        }
    }
}
