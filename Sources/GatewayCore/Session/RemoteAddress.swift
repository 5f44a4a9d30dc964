/// Helpers for the `ip:port` strings the transport reports.
enum RemoteAddress {
    /// The host part of `ip:port` or `[ipv6]:port`; the input itself when it has no port.
    static func host(of address: String) -> String {
        if address.hasPrefix("["), let end = address.firstIndex(of: "]") {
            return String(address[address.index(after: address.startIndex)..<end])
        }
        guard let colon = address.lastIndex(of: ":"), address.firstIndex(of: ":") == colon else { return address }
        return String(address[..<colon])
    }
}
