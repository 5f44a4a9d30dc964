/// Where each member of a room is in its join-ordered list, by name key (``Room/Member/nameKey``, unique
/// in a room), so that a join finds a taken name's member in O(1) instead of comparing every member.
///
/// A removal shifts the members after it by one; rather than renumbering them at once (a session grace
/// ending for a thousand members would renumber the room a thousand times), the index remembers the
/// first position that may be stale and renumbers from there at the next lookup that needs it. Derived
/// from the members: never in a snapshot, rebuilt when a room is decoded.
struct NameIndex: Sendable {
    private var positions: [String: Int] = [:]
    /// Positions at or after it may be too high (members before them left since they were recorded).
    private var staleFrom = Int.max

    /// The index of `members`.
    init(_ members: [Room.Member] = []) {
        positions.reserveCapacity(members.count)
        for (position, member) in members.enumerated() { positions[member.nameKey] = position }
    }

    /// Whether a member has name key `key`.
    func contains(_ key: String) -> Bool {
        positions[key] != nil
    }

    /// Members indexed.
    var count: Int { positions.count }

    /// Records the member of name key `key` appended at `position`.
    mutating func added(_ key: String, at position: Int) {
        positions[key] = position
    }

    /// Forgets the member of name key `key` removed from `position`.
    mutating func removed(_ key: String, at position: Int) {
        positions[key] = nil
        staleFrom = min(staleFrom, position)
    }

    /// The position of the member of name key `key` in `members` (the room's list), if any.
    mutating func position(of key: String, in members: [Room.Member]) -> Int? {
        guard let recorded = positions[key] else { return nil }
        if recorded < staleFrom { return recorded }
        // Renumber from the first stale position; each member after it moved down by the removals.
        for position in min(staleFrom, members.count)..<members.count {
            positions[members[position].nameKey] = position
        }
        staleFrom = .max
        return positions[key]
    }
}
