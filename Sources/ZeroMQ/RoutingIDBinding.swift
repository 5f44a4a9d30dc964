/// Binds a CURVE client's ZeroMQ routing id to the name of its key (the key file's name in the
/// allow-list, e.g. `gateway-1`): a client speaks under its key's name, or its key's name, a `/` and
/// anything (`gateway-1/5f3a…`). Key names
/// hold no `/` (``CurveKeyFile/write(_:directory:name:overwrite:)``), so no key's ids are another's.
public enum RoutingIDBinding {
    /// What follows the key's name in a longer routing id.
    public static let separator = UInt8(ascii: "/")

    /// Whether `routingID` is `name` or starts with `name/`: a routing id that key may speak under.
    public static func isBound(_ routingID: [UInt8], to name: String) -> Bool {
        let prefix = name.utf8
        guard !prefix.isEmpty, routingID.count >= prefix.count, routingID.starts(with: prefix) else { return false }
        return routingID.count == prefix.count || routingID[prefix.count] == separator
    }

    /// The routing id of a process holding the key `name`, unique by `suffix` (e.g. random hex).
    public static func routingID(name: String, suffix: String) -> String {
        name + String(decoding: [separator], as: UTF8.self) + suffix
    }
}
