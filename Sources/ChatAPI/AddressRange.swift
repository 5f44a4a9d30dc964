import ChatWire

/// A CIDR range of IP addresses, e.g. `10.0.0.0/8`, `2001:db8::/32`, or one address (`192.0.2.7`).
public struct AddressRange: Sendable, Hashable, CustomStringConvertible {
    /// The first address of the range (host bits cleared).
    public let network: ClientAddress
    /// How many leading bits every address of the range shares with ``network``.
    public let prefixLength: Int

    /// Parses `address/length` or a single address; `nil` when `text` is neither or the length is
    /// out of range (0–32 for IPv4, 0–128 for IPv6).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = ClientAddress(parts[0]) else { return nil }
        let maxLength = address.isIPv4 ? 32 : 128
        var length = maxLength
        if parts.count == 2 {
            guard parts[1].utf8.count <= 3, let parsed = Int(parts[1]), (0...maxLength).contains(parsed) else {
                return nil
            }
            length = parsed
        }
        // An IPv4-mapped IPv6 range (::ffff:a.b.c.d/n) counts its IPv4 bits.
        if address.isIPv4, parts[0].contains(":") {
            guard length >= 96 || parts.count == 1 else { return nil }
            length = parts.count == 1 ? 32 : length - 96
        }
        prefixLength = length
        network = Self.clearHostBits(address, keeping: length)
    }

    /// Whether `address` lies in the range (IPv4 addresses never lie in IPv6 ranges and vice versa).
    public func contains(_ address: ClientAddress) -> Bool {
        address.hasPrefix(network, length: prefixLength)
    }

    /// `network/prefixLength`.
    public var description: String { "\(network)/\(prefixLength)" }

    private static func clearHostBits(_ address: ClientAddress, keeping length: Int) -> ClientAddress {
        var bytes = address.bytes
        for index in bytes.indices {
            let bitsBefore = index * 8
            if bitsBefore >= length {
                bytes[index] = 0
            } else if bitsBefore + 8 > length {
                bytes[index] &= UInt8(truncatingIfNeeded: 0xFF << (8 - (length - bitsBefore)))
            }
        }
        return ClientAddress(bytes: bytes) ?? address
    }
}
