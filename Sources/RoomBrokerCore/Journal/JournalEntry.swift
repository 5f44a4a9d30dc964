/// What a node asks its journal on disk to keep (``NodeAction/journal(_:)``): the inputs it applied,
/// in order, and the few facts about its state that are not inputs. Replayed after the newest
/// snapshot, they give the state back (docs/ARCHITECTURE.md, "Journal").
public enum JournalEntry: Sendable, Equatable, CustomStringConvertible {
    /// Consecutive numbered inputs, the last numbered `last`, as one ``PeerMessage/updates(_:)`` frame:
    /// the same bytes an active sends its standby.
    case updates(last: UInt64, frame: [UInt8])
    /// The state was made active in fencing term `term` (its rank among the pair's states).
    case term(UInt64)
    /// The state was given the id `instance` (gateways take a new one for a restart that lost events).
    case instance(String)
    /// The node holds another state from now on (the standby loaded its active's snapshot, or a broker
    /// started afresh), taken after update `base`: the journal starts a new lineage from it.
    indirect case lineage(base: UInt64, snapshot: BrokerSnapshot)

    public static func == (lhs: JournalEntry, rhs: JournalEntry) -> Bool {
        switch (lhs, rhs) {
        case (.updates(let left, let leftFrame), .updates(let right, let rightFrame)):
            return left == right && leftFrame == rightFrame
        case (.term(let left), .term(let right)): return left == right
        case (.instance(let left), .instance(let right)): return left == right
        case (.lineage(let left, _), .lineage(let right, _)): return left == right
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .updates(let last, let frame): return "updates up to \(last) (\(frame.count) bytes)"
        case .term(let term): return "term \(term)"
        case .instance(let instance): return "instance \(instance)"
        case .lineage(let base, _): return "new lineage after update \(base)"
        }
    }
}
