/// Which broker of a pair this is: the primary wins when both start together.
public enum PairRole: String, Sendable, CaseIterable {
    /// Becomes active when both start together.
    case primary
    /// Becomes the standby when both start together.
    case backup
}
