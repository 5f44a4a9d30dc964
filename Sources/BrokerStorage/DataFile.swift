/// A file of the data folder, named by what it holds: a journal segment (the records from update
/// `first` on) or a snapshot (the state after update `base`), both of one lineage (`generation`: a new
/// one starts each time the broker holds another state than the one it journaled).
public enum DataFile: Sendable, Hashable, Comparable {
    /// `journal-GGGGGGGGGGGGGGGG-FFFFFFFFFFFFFFFF.log`
    case segment(generation: UInt64, first: UInt64)
    /// `snapshot-GGGGGGGGGGGGGGGG-BBBBBBBBBBBBBBBB.snap`
    case snapshot(generation: UInt64, base: UInt64)

    /// The file's name.
    public var name: String {
        switch self {
        case .segment(let generation, let first): return "journal-\(Self.hex(generation))-\(Self.hex(first)).log"
        case .snapshot(let generation, let base): return "snapshot-\(Self.hex(generation))-\(Self.hex(base)).snap"
        }
    }

    /// The lineage.
    public var generation: UInt64 {
        switch self {
        case .segment(let generation, _), .snapshot(let generation, _): return generation
        }
    }

    /// The position: a segment's first update, a snapshot's base.
    var position: UInt64 {
        switch self {
        case .segment(_, let first): return first
        case .snapshot(_, let base): return base
        }
    }

    /// Parses a name made by ``name``; nil for any other file.
    public init?(name: String) {
        let parts = name.split(separator: "-")
        guard parts.count == 3, parts[1].count == 16 else { return nil }
        let last = parts[2].split(separator: ".")
        guard last.count == 2, last[0].count == 16, let generation = UInt64(parts[1], radix: 16),
            let position = UInt64(last[0], radix: 16)
        else { return nil }
        switch (parts[0], last[1]) {
        case ("journal", "log"): self = .segment(generation: generation, first: position)
        case ("snapshot", "snap"): self = .snapshot(generation: generation, base: position)
        default: return nil
        }
    }

    public static func < (lhs: DataFile, rhs: DataFile) -> Bool {
        (lhs.generation, lhs.position) < (rhs.generation, rhs.position)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
