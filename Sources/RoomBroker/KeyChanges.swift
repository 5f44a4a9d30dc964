import ZeroMQ

/// What a reload of `--authorized-keys` changed, by key name (a name whose key was replaced is both
/// removed and added).
struct KeyChanges: Sendable, Equatable {
    /// Names of the keys now allowed that were not before.
    var added: [String]
    /// Names of the keys allowed before that are not now.
    var removed: [String]

    init(old: [CurvePublicKey: String], new: [CurvePublicKey: String]) {
        added = new.filter { old[$0.key] == nil }.map(\.value).sorted()
        removed = old.filter { new[$0.key] == nil }.map(\.value).sorted()
    }
}
