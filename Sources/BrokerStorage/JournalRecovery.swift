import Glibc
import Logging
import RoomBrokerCore

/// Reads the state back from a data folder at start: the newest snapshot that can be read (an older
/// one when the newest is damaged), then the journal after it up to its last whole record. Damage is
/// cut off (a torn tail) or set aside (`.damaged` files), and every cut is logged with what it dropped.
struct JournalRecovery {
    /// What was read back: the state, and where the journal goes on.
    struct Outcome {
        /// The state; nil for an empty folder (or one with journal files but no snapshot yet).
        var state: RecoveredState?
        /// The lineage to go on in, and the first update of the next segment.
        var generation: UInt64
        var nextPosition: UInt64
        /// The highest lineage found in the folder (a new lineage takes the next one).
        var highestGeneration: UInt64
    }

    let directory: DataDirectory
    let logger: Logger

    /// Reads the folder. Throws when snapshots exist and none can be read.
    func read() throws -> Outcome {
        let files = directory.files()
        let highest = files.map(\.generation).max() ?? 0
        let snapshots = files.filter { if case .snapshot = $0 { return true } else { return false } }
        guard !snapshots.isEmpty else {
            if !files.isEmpty {
                logger.warning(
                    "journal-without-snapshot",
                    metadata: ["reason": "\(files.count) journal files but no snapshot: starting with no rooms"]
                )
            }
            return Outcome(state: nil, generation: highest + 1, nextPosition: 1, highestGeneration: highest)
        }
        for file in snapshots.reversed() {
            let start = ContinuousClock.now
            let snapshot: BrokerSnapshot
            do {
                snapshot = try SnapshotFile.read(file, in: directory)
            } catch {
                logger.error(
                    "snapshot-damaged",
                    metadata: [
                        "file": "\(file.name)", "reason": "\(error); trying an older one (set aside as .damaged)",
                    ]
                )
                directory.setAside(file)
                continue
            }
            logger.notice(
                "snapshot-loaded",
                metadata: [
                    "file": "\(file.name)", "rooms": "\(snapshot.registry.rooms.count)",
                    "reason": "read in \(start.duration(to: .now))",
                ]
            )
            // Lineages newer than the one read cannot be followed from it.
            for newer in files where newer.generation > file.generation { directory.setAside(newer) }
            let segments = files.filter {
                if case .segment = $0, $0.generation == file.generation { return true } else { return false }
            }
            let (entries, position, clean, tailMode) = replayable(segments: segments, after: file.position)
            return Outcome(
                state: RecoveredState(
                    snapshot: snapshot,
                    base: file.position,
                    entries: entries,
                    keepsEveryAcknowledged: clean && tailMode == FsyncMode.always.byte
                ),
                generation: file.generation,
                nextPosition: position + 1,
                highestGeneration: highest
            )
        }
        throw StorageError.noReadableSnapshot(path: directory.path, tried: snapshots.count)
    }

    /// The entries of `segments` after update `base`, the last update they reach, whether nothing but a
    /// torn tail was cut, and the fsync mode the last segment was written with.
    private func replayable(segments: [DataFile], after base: UInt64) -> ([JournalEntry], UInt64, Bool, UInt8) {
        var entries: [JournalEntry] = []
        var position = base
        var clean = true
        // No segment at all (a snapshot restored from a backup): nothing says what was acknowledged after it.
        var mode: UInt8 = 0
        for (index, segment) in segments.enumerated() {
            // A segment whose successor starts at or before the base holds nothing after it.
            if index + 1 < segments.count, segments[index + 1].position <= base + 1 { continue }
            guard segment.position <= position + 1 else {
                logger.error(
                    "journal-gap",
                    metadata: [
                        "file": "\(segment.name)",
                        "reason":
                            "it starts at update \(segment.position), the state reached \(position): later segments set aside",
                    ]
                )
                for later in segments[index...] { directory.setAside(later) }
                return (entries, position, false, mode)
            }
            let read = readSegment(segment)
            mode = read.mode
            for entry in read.entries {
                if case .updates(let last, _) = entry { position = max(position, last) }
                entries.append(entry)
            }
            if read.dropped {
                let last = index + 1 == segments.count
                clean = clean && last && read.tornTailOnly
                if !last {
                    logger.error(
                        "journal-damaged",
                        metadata: ["reason": "later segments follow a damaged one and are set aside"]
                    )
                    for later in segments[(index + 1)...] { directory.setAside(later) }
                    return (entries, position, false, mode)
                }
            }
        }
        return (entries, position, clean, mode)
    }

    private struct SegmentRead {
        var entries: [JournalEntry] = []
        var mode: UInt8 = 0
        var dropped = false
        var tornTailOnly = true
    }

    /// Reads one segment's whole records; cuts the file after the last one when damage follows.
    private func readSegment(_ segment: DataFile) -> SegmentRead {
        var result = SegmentRead()
        let path = directory.path(of: segment)
        let bytes: [UInt8]
        do {
            let file = try POSIXFile(path: path, flags: O_RDONLY)
            defer { file.close() }
            bytes = try file.readAll(limit: Int.max)
        } catch {
            logger.error("journal-unreadable", metadata: ["file": "\(segment.name)", "reason": "\(error)"])
            result.dropped = true
            result.tornTailOnly = false
            return result
        }
        guard let header = FileHeader.read(.segment, from: bytes), header.generation == segment.generation,
            header.position == segment.position
        else {
            // Created but its header never reached the disk: nothing in it was ever acknowledged.
            logger.warning("journal-header-torn", metadata: ["file": "\(segment.name)", "reason": "removed"])
            directory.remove(segment)
            result.dropped = true
            return result
        }
        result.mode = header.mode
        var offset = FileHeader.size
        while true {
            switch JournalRecord.read(bytes, at: offset) {
            case .end:
                return result
            case .record(let entry, let size):
                result.entries.append(entry)
                offset += size
            case .damaged(let what):
                let (records, tornTail) = Self.recordsAfterDamage(bytes, at: offset)
                logger.error(
                    "journal-cut",
                    metadata: [
                        "file": "\(segment.name)",
                        "reason":
                            "\(what) at byte \(offset): cut there, dropping \(records) record(s) and \(bytes.count - offset) bytes",
                    ]
                )
                do {
                    let file = try POSIXFile(path: path, flags: O_WRONLY)
                    defer { file.close() }
                    try file.truncate(to: offset)
                    try file.sync()
                } catch {
                    logger.error("journal-cut-failed", metadata: ["file": "\(segment.name)", "reason": "\(error)"])
                }
                result.dropped = true
                result.tornTailOnly = tornTail
                return result
            }
        }
    }

    /// How many records are dropped by a cut at `offset` (the damaged one, and the whole ones that can
    /// still be found after it), and whether it was only a torn last record.
    static func recordsAfterDamage(_ bytes: [UInt8], at offset: Int) -> (Int, Bool) {
        guard bytes.count - offset >= JournalRecord.headerSize,
            let length = JournalRecord.header(bytes, at: offset)?.length
        else { return (1, true) }
        let next = offset + JournalRecord.headerSize + length
        guard length >= 1, length <= JournalRecord.maxPayload, next < bytes.count else {
            return (1, next >= bytes.count)
        }
        var count = 1
        var position = next
        while case .record(_, let size) = JournalRecord.read(bytes, at: position) {
            count += 1
            position += size
        }
        return (count, false)
    }
}
