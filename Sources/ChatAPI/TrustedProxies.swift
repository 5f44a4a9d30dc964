import ChatWire

/// The reverse proxies whose `Forwarded` / `X-Forwarded-For` headers are believed, and the rule
/// that finds a request's client address with them.
///
/// Only when the TCP peer lies in a trusted range are the headers read at all. The client is then
/// the rightmost address in the chain that is not itself a trusted proxy: each trusted hop vouches
/// for the address to its left, and nothing further left (which the client could have written) is
/// used. `Forwarded` (RFC 7239) is read when present, else `X-Forwarded-For`.
public struct TrustedProxies: Sendable {
    /// The trusted ranges.
    public let ranges: [AddressRange]

    /// Most hops read from the right of the chain; a longer chain stops there.
    public static let maxHops = 32

    /// Trusts the proxies in `ranges` (none: headers are never read).
    public init(_ ranges: [AddressRange] = []) {
        self.ranges = ranges
    }

    /// Whether `address` is a trusted proxy.
    public func contains(_ address: ClientAddress) -> Bool {
        ranges.contains { $0.contains(address) }
    }

    /// The client address of a request that arrived from `peer` carrying these header field values
    /// (each element one header line, in order).
    public func client(peer: ClientAddress, forwarded: [String], xForwardedFor: [String]) -> ClientAddress {
        guard contains(peer) else { return peer }
        let hops: [Substring]
        if forwarded.contains(where: { !$0.allSatisfy { $0 == " " || $0 == "\t" } }) {
            hops = Self.lastElements(of: forwarded).map { Self.forValue(ofElement: $0) ?? "" }
        } else {
            hops = Self.lastElements(of: xForwardedFor)
        }
        var client = peer
        for hop in hops.reversed() {
            guard contains(client), let address = Self.nodeAddress(hop) else { break }
            client = address
        }
        return client
    }

    /// The last `maxHops` comma-separated elements of the joined field values, quotes respected.
    static func lastElements(of values: [String]) -> [Substring] {
        var elements: [Substring] = []
        for value in values {
            var start = value.startIndex
            var quoted = false
            var escaped = false
            var index = value.startIndex
            while index < value.endIndex {
                let character = value[index]
                if escaped {
                    escaped = false
                } else if quoted && character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    quoted.toggle()
                } else if character == ",", !quoted {
                    elements.append(value[start..<index])
                    start = value.index(after: index)
                }
                index = value.index(after: index)
            }
            elements.append(value[start...])
            if elements.count > 2 * maxHops { elements.removeFirst(elements.count - maxHops) }
        }
        return Array(elements.suffix(maxHops))
    }

    /// The (unquoted) value of the `for` parameter of one `Forwarded` element, or `nil`.
    static func forValue(ofElement element: Substring) -> Substring? {
        for pair in element.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmed().lowercased() == "for" else { continue }
            var value = parts[1].trimmed()
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                value = value.dropFirst().dropLast()
            }
            return value
        }
        return nil
    }

    /// The address of one node: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`, `[2001:db8::1]:4711`
    /// or a bare IPv6 address; `nil` for `unknown`, obfuscated identifiers and anything else.
    static func nodeAddress(_ node: Substring) -> ClientAddress? {
        let node = node.trimmed()
        guard node.utf8.count <= ClientAddress.maxTextLength + 8 else { return nil }
        if node.hasPrefix("[") {
            guard let close = node.firstIndex(of: "]") else { return nil }
            let rest = node[node.index(after: close)...]
            guard rest.isEmpty || Self.isPort(rest) else { return nil }
            return ClientAddress(node[node.index(after: node.startIndex)..<close])
        }
        let colons = node.utf8.filter { $0 == UInt8(ascii: ":") }.count
        if colons == 1, let colon = node.firstIndex(of: ":"), Self.isPort(node[colon...]) {
            return ClientAddress(node[..<colon])
        }
        return ClientAddress(node)
    }

    private static func isPort(_ text: Substring) -> Bool {
        let digits = text.dropFirst()
        return text.first == ":" && (1...5).contains(digits.utf8.count)
            && digits.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (HTTP's optional white space).
    func trimmed() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return self[first...last]
    }
}
