// Socket.IO packet parser: any text (WebSocket text frames are UTF-8; other bytes are repaired).
// A parsed packet encodes to text that parses to the same packet; errors are short.
import SocketIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSocketIOPacket(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: fuzzInput(data, size), as: UTF8.self)
    let packet: SocketIOPacket
    do {
        packet = try SocketIOPacket.parse(Substring(text))
    } catch {
        require(
            error.description.utf8.count <= maxErrorMessageBytes,
            "error message too long: \(error.description.prefix(200))"
        )
        return 0
    }
    let encoded = packet.encoded()
    do {
        let again = try SocketIOPacket.parse(Substring(encoded))
        require(again == packet, "re-parsed packet differs: \(text.debugDescription) -> \(encoded.debugDescription)")
        require(again.encoded() == encoded, "re-encoding is not stable: \(encoded.debugDescription)")
    } catch {
        require(
            encoded.utf8.count > text.utf8.count,
            "encoded packet does not parse (\(error)): \(encoded.debugDescription)"
        )
    }
    return 0
}
