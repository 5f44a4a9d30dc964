import Foundation
import NIOCore

/// The local addresses the clients connect from, round robin: 127.0.0.2, 127.0.0.3, … (`count` of
/// them), or none (`count` 0: the kernel picks 127.0.0.1). One source address reaches one server
/// address and port through at most the ephemeral port range (~28,000 ports by default), so more
/// clients than that need several.
public struct SourceAddresses: Sendable, CustomStringConvertible {
    /// How many addresses; 0 binds nothing.
    public let count: Int

    /// `count` addresses from 127.0.0.2 on.
    public init(count: Int) {
        self.count = count
    }

    /// Most addresses (127.0.0.2 … 127.0.0.254).
    public static let maximum = 253

    /// The address client `index` binds to before connecting (port 0: any free port), or `nil`.
    public func address(for index: Int) -> SocketAddress? {
        guard count > 0 else { return nil }
        return try? SocketAddress(ipAddress: "127.0.0.\(2 + index % count)", port: 0)
    }

    /// How many connections to one server address and port the addresses allow: addresses ×
    /// the size of the kernel's ephemeral port range (`/proc/sys/net/ipv4/ip_local_port_range`).
    public var connectionCapacity: Int {
        max(1, count) * Self.ephemeralPorts()
    }

    public var description: String {
        count == 0 ? "from 127.0.0.1" : "from 127.0.0.2…127.0.0.\(1 + count)"
    }

    /// The size of the ephemeral port range (28,232 when it cannot be read: Linux's default).
    public static func ephemeralPorts() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8) else {
            return 28_232
        }
        let bounds = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        guard bounds.count == 2, bounds[1] >= bounds[0] else { return 28_232 }
        return bounds[1] - bounds[0] + 1
    }
}
