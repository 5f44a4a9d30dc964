import ChatAPI
import ChatWire
import NIOCore

extension ClientAddress {
    /// The IP address of a socket address, taken from its bytes (no text round trip);
    /// `.unspecified` for a Unix-domain socket or none.
    init(_ address: SocketAddress?) {
        switch address {
        case .v4(let address)?:
            self.init(ipv4: UInt32(bigEndian: address.address.sin_addr.s_addr))
        case .v6(let address)?:
            var raw = address.address.sin6_addr
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            self = ClientAddress(bytes: bytes) ?? .unspecified
        default:
            self = .unspecified
        }
    }
}
