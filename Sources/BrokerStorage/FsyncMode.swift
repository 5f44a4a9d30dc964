/// When the journal's writes reach the disk (`--fsync`), and so what "acknowledged" means there.
public enum FsyncMode: String, Sendable, CaseIterable {
    /// A reply or broadcast goes out only once its input is on disk (fsync); many inputs share one
    /// fsync (group commit).
    case always
    /// Written at once, fsynced every ``JournalWriter/batchMilliseconds``: a power loss may lose that
    /// much of what was acknowledged; a killed process loses nothing written.
    case batch
    /// Written at once, never fsynced: the operating system decides (a killed process loses nothing
    /// written; a power loss may lose much more).
    case off

    /// The byte stored in each journal segment's header.
    var byte: UInt8 {
        switch self {
        case .always: return 1
        case .batch: return 2
        case .off: return 3
        }
    }
}
