import NIOCore

/// The loopback addresses one attack connects from, round robin: 127.0.<block>.2 … 127.0.<block>.<count + 1>.
/// The gateway keys its limits by client address, so each address is one "client" to it.
struct AttackAddresses: Sendable, CustomStringConvertible {
    /// The attack the block belongs to.
    let kind: AttackKind
    /// How many addresses of the block are used.
    let count: Int

    /// Most addresses per attack.
    static let maximum = 250

    /// The address of attempt or connection `index`.
    func address(for index: Int) -> SocketAddress? {
        try? SocketAddress(ipAddress: "127.0.\(kind.addressBlock).\(2 + index % max(1, count))", port: 0)
    }

    var description: String {
        "127.0.\(kind.addressBlock).2…127.0.\(kind.addressBlock).\(1 + count)"
    }
}
