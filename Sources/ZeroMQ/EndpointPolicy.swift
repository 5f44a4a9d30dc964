#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which ZeroMQ endpoints a process may use, checked at start by the broker and the gateway:
/// ipc:// and inproc:// always (file permissions, or the process itself, protect them); tcp:// with
/// CURVE keys; plain tcp:// only to a loopback address (127.0.0.0/8, ::1, localhost) and only with
/// `--insecure-loopback`. Pure: it looks at the endpoint's text only.
public struct EndpointPolicy: Sendable, Equatable {
    /// The transports the policy knows.
    public enum Transport: String, Sendable {
        case tcp, ipc, inproc
    }

    /// Whether the process's links use CURVE (its keys were given).
    public var hasCurveKeys: Bool
    /// Whether plain tcp:// to a loopback address is allowed (`--insecure-loopback`).
    public var insecureLoopback: Bool

    /// A policy for a process with or without CURVE keys, and with or without `--insecure-loopback`.
    public init(hasCurveKeys: Bool, insecureLoopback: Bool) {
        self.hasCurveKeys = hasCurveKeys
        self.insecureLoopback = insecureLoopback
    }

    /// Returns when the process may bind or connect `endpoint`; throws why not.
    public func check(_ endpoint: String) throws(EndpointRefusal) {
        switch Self.transport(of: endpoint) {
        case .ipc, .inproc:
            return
        case .tcp:
            if hasCurveKeys { return }
            guard Self.isLoopback(tcpEndpoint: endpoint) else { throw .needsKeys(endpoint: endpoint) }
            guard insecureLoopback else { throw .needsKeysOrInsecureLoopback(endpoint: endpoint) }
        case nil:
            throw .unsupportedTransport(endpoint: endpoint)
        }
    }

    /// Returns when the process may use every one of `endpoints`; throws for the first it may not.
    public func check(_ endpoints: [String]) throws(EndpointRefusal) {
        for endpoint in endpoints { try check(endpoint) }
    }

    /// The transport of `endpoint` (`tcp://…`), or nil for one the policy does not allow.
    public static func transport(of endpoint: String) -> Transport? {
        guard let separator = endpoint.firstRange(of: "://") else { return nil }
        return Transport(rawValue: String(endpoint[..<separator.lowerBound]).lowercased())
    }

    /// Whether a tcp:// endpoint's (destination) host is a loopback address: 127.0.0.0/8, ::1 (also
    /// as ::ffff:127.x.y.z), or `localhost`. An interface name or `*` is not.
    public static func isLoopback(tcpEndpoint endpoint: String) -> Bool {
        guard let separator = endpoint.firstRange(of: "://") else { return false }
        // `tcp://source;destination:port` connects from a source address: the destination counts.
        let address =
            endpoint[separator.upperBound...].split(separator: ";", omittingEmptySubsequences: false).last ?? ""
        let host: Substring
        if address.hasPrefix("[") {
            guard let close = address.firstIndex(of: "]") else { return false }
            host = address[address.index(after: address.startIndex)..<close]
        } else {
            guard let colon = address.lastIndex(of: ":") else { return false }
            host = address[..<colon]
        }
        return isLoopback(host: String(host))
    }

    /// Whether `host` (an address or `localhost`) is a loopback address.
    static func isLoopback(host: String) -> Bool {
        if host.lowercased() == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, host, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes == [UInt8](repeating: 0, count: 15) + [1] { return true }
        // ::ffff:127.x.y.z, an IPv4 loopback address written as IPv6.
        return bytes.prefix(10).allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff && bytes[12] == 127
    }
}
