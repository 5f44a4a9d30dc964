/// Where a small HTTP listener binds, from `HOST:PORT` (`127.0.0.1:9464`, `[::1]:9464`, `0.0.0.0:9464`).
public struct ListenAddress: Equatable, Sendable, CustomStringConvertible {
    /// The host or address, without brackets.
    public var host: String
    /// The TCP port (0: any free one).
    public var port: Int

    /// Parses `HOST:PORT`; nil when it is not one (no port, a port outside 0–65535, an empty host or
    /// an IPv6 address without brackets).
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            return nil
        }
        var host = Substring(text[..<colon])
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else { return nil }
            host = host.dropFirst().dropLast()
        } else if host.contains(":") {
            return nil
        }
        guard !host.isEmpty, host.utf8.count <= 255, host.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            return nil
        }
        self.host = String(host)
        self.port = port
    }

    /// 127.0.0.1, any free port.
    public static let loopbackAnyPort = ListenAddress(host: "127.0.0.1", port: 0)

    /// `host` and `port` as given.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { Self.describe(host: host, port: port) }

    /// `host:port`, with the host in brackets when it is an IPv6 address.
    public static func describe(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
