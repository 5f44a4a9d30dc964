/// How wide a range of client addresses one per-address limit counts together. One subscriber
/// usually holds an IPv4 address or an IPv6 /64; providers hand out IPv6 /56 and /48 prefixes too,
/// so an IPv6 client is also counted under those, with larger budgets (``budgetMultiplier``):
/// one /48 is then 16 subscribers' worth, not 65,536. Room creation at the broker also counts an IPv4
/// client under its /24, as a network (``ClientAddress/creationPrefixKeys``): a /24 often holds many
/// unrelated subscribers.
public enum AddressScope: Int, Sendable, CaseIterable, Comparable {
    /// An IPv4 address, or an IPv6 /64.
    case subscriber
    /// An IPv6 /56 (a site's usual delegation).
    case site
    /// An IPv6 /48 (a large site's delegation); for room creation also an IPv4 /24.
    case network

    /// The IPv4 prefix length of the scope (nil: IPv4 clients are not counted in it).
    public var ipv4PrefixLength: Int? {
        switch self {
        case .subscriber: return 32
        case .site: return nil
        case .network: return 24
        }
    }

    /// The IPv6 prefix length of the scope.
    public var ipv6PrefixLength: Int {
        switch self {
        case .subscriber: return 64
        case .site: return 56
        case .network: return 48
        }
    }

    /// The scope's budget as a multiple of the per-address one.
    public var budgetMultiplier: Int {
        switch self {
        case .subscriber: return 1
        case .site: return 4
        case .network: return 16
        }
    }

    public static func < (lhs: AddressScope, rhs: AddressScope) -> Bool { lhs.rawValue < rhs.rawValue }
}
