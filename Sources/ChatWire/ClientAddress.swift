#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A client's IP address, typed: IPv4, or IPv6 (an IPv4-mapped IPv6 address `::ffff:a.b.c.d` is
/// stored as the IPv4 address it maps).
///
/// Per-address limits use ``rateLimitKey``: an IPv4 address as it is, an IPv6 address by its /64
/// prefix, since one subscriber usually holds a whole /64 (2^64 addresses); the gateway's connection
/// and request limits also count an IPv6 client under its /56 and /48 (``limitKeys``).
public struct ClientAddress: Sendable, Hashable, CustomStringConvertible {
    private enum Storage: Hashable {
        case v4(UInt32)
        case v6(high: UInt64, low: UInt64)
    }

    private let storage: Storage

    /// The longest textual address parsed (an IPv6 address with an embedded IPv4 address is 45).
    public static let maxTextLength = 45

    /// `0.0.0.0`: the address of a connection whose peer is not an IP socket (tests, Unix sockets).
    public static let unspecified = ClientAddress(ipv4: 0)

    /// The IPv4 address whose 32 bits, most significant first, are `ipv4`.
    public init(ipv4: UInt32) {
        storage = .v4(ipv4)
    }

    /// The IPv6 address of the 128 bits `high` ‖ `low`; an IPv4-mapped address becomes IPv4.
    public init(ipv6High high: UInt64, low: UInt64) {
        if high == 0, low >> 32 == 0xFFFF {
            storage = .v4(UInt32(truncatingIfNeeded: low))
        } else {
            storage = .v6(high: high, low: low)
        }
    }

    /// The address from its 4 (IPv4) or 16 (IPv6) bytes in network order; `nil` for any other count.
    public init?(bytes: some Collection<UInt8>) {
        switch bytes.count {
        case 4:
            self.init(ipv4: bytes.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            let high = bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let low = bytes.dropFirst(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            self.init(ipv6High: high, low: low)
        default:
            return nil
        }
    }

    /// Parses a literal IPv4 (`192.0.2.1`) or IPv6 (`2001:db8::1`, `::ffff:192.0.2.1`) address:
    /// no brackets, port, zone or surrounding white space. `nil` when `text` is not one.
    public init?(_ text: some StringProtocol) {
        let utf8 = text.utf8
        guard !utf8.isEmpty, utf8.count <= Self.maxTextLength,
            utf8.allSatisfy({ Self.isAddressByte($0) })
        else { return nil }
        let literal = String(text)
        if utf8.contains(UInt8(ascii: ":")) {
            var raw = in6_addr()
            guard inet_pton(AF_INET6, literal, &raw) == 1 else { return nil }
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            self.init(bytes: bytes)
        } else {
            var raw = in_addr()
            guard inet_pton(AF_INET, literal, &raw) == 1 else { return nil }
            self.init(ipv4: UInt32(bigEndian: raw.s_addr))
        }
    }

    /// Whether this is an IPv4 address (including one that came IPv4-mapped).
    public var isIPv4: Bool {
        if case .v4 = storage { return true }
        return false
    }

    /// The 4 or 16 bytes in network order.
    public var bytes: [UInt8] {
        switch storage {
        case .v4(let value):
            return (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
        case .v6(let high, let low):
            return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
                + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
        }
    }

    /// The address in its usual text form (`192.0.2.1`, `2001:db8::1`).
    public var description: String {
        switch storage {
        case .v4:
            return Self.format(bytes, family: AF_INET)
        case .v6:
            return Self.format(bytes, family: AF_INET6)
        }
    }

    /// The key per-address limits count under: an IPv4 address as it is, an IPv6 address as its
    /// /64 prefix (`2001:db8:1:2::/64`).
    public var rateLimitKey: String {
        switch storage {
        case .v4:
            return description
        case .v6(let high, _):
            return ClientAddress(ipv6High: high, low: 0).description + "/64"
        }
    }

    /// The keys limits count this client under, narrowest first: an IPv4 address only under itself;
    /// an IPv6 address under its /64 (``rateLimitKey``), /56 and /48 (``AddressScope``).
    public var limitKeys: [(scope: AddressScope, key: String)] {
        switch storage {
        case .v4:
            return [(.subscriber, description)]
        case .v6(let high, _):
            return AddressScope.allCases.map { scope in
                let length = scope.ipv6PrefixLength
                let prefix = ClientAddress(ipv6High: high & (UInt64.max << UInt64(64 - length)), low: 0)
                return (scope, prefix.description + "/\(length)")
            }
        }
    }

    /// The client of an address key as ``rateLimitKey`` writes it (an IPv4 address, or an IPv6 prefix
    /// followed by `/64`); nil for anything else.
    public init?(rateLimitKey key: String) {
        if key.hasSuffix("/64") {
            guard let address = ClientAddress(key.dropLast(3)), !address.isIPv4 else { return nil }
            self = address
        } else {
            guard let address = ClientAddress(key), address.isIPv4 else { return nil }
            self = address
        }
    }

    /// The wider prefixes the broker counts room creations of this client under, besides its own key:
    /// an IPv4 address's /24; an IPv6 /64's /56 and /48 (``AddressScope``).
    public var creationPrefixKeys: [(scope: AddressScope, key: String)] {
        switch storage {
        case .v4(let value):
            return AddressScope.allCases.compactMap { scope in
                guard scope != .subscriber, let length = scope.ipv4PrefixLength else { return nil }
                let prefix = ClientAddress(ipv4: value & (UInt32.max << UInt32(32 - length)))
                return (scope, prefix.description + "/\(length)")
            }
        case .v6:
            return Array(limitKeys.dropFirst())
        }
    }

    /// Whether the first `prefixLength` bits equal those of `network` (which must be of the same family).
    public func hasPrefix(_ network: ClientAddress, length prefixLength: Int) -> Bool {
        switch (storage, network.storage) {
        case (.v4(let value), .v4(let base)):
            guard prefixLength > 0 else { return true }
            let mask = UInt32.max << UInt32(32 - min(prefixLength, 32))
            return value & mask == base & mask
        case (.v6(let high, let low), .v6(let baseHigh, let baseLow)):
            let highBits = min(prefixLength, 64)
            let lowBits = max(prefixLength - 64, 0)
            let highMask = highBits == 0 ? 0 : UInt64.max << UInt64(64 - highBits)
            let lowMask = lowBits == 0 ? 0 : UInt64.max << UInt64(64 - lowBits)
            return high & highMask == baseHigh & highMask && low & lowMask == baseLow & lowMask
        default:
            return false
        }
    }

    private static func isAddressByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
            UInt8(ascii: "A")...UInt8(ascii: "F"), UInt8(ascii: "."), UInt8(ascii: ":"):
            return true
        default:
            return false
        }
    }

    private static func format(_ bytes: [UInt8], family: Int32) -> String {
        var text = [CChar](repeating: 0, count: 64)
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &text, socklen_t(text.count)) != nil
        }
        guard ok else { return "?" }
        let end = text.firstIndex(of: 0) ?? text.count
        return String(decoding: text[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
