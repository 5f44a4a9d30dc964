// Client events: a Socket.IO packet as a client sends it, then ClientEvent.decode on its event
// name and arguments. Decoding depends on the packet's meaning only: the re-encoded packet
// decodes to the same event or the same error; errors are short.
import SocketIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientEvent(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: fuzzInput(data, size), as: UTF8.self)
    guard let packet = try? SocketIOPacket.parse(Substring(text)), let name = packet.eventName else { return 0 }
    let result = Result { () throws(ClientEventError) -> ClientEvent in
        try ClientEvent.decode(eventName: name, arguments: packet.arguments)
    }
    if case .failure(let error) = result {
        require(
            error.description.utf8.count <= maxErrorMessageBytes,
            "error message too long: \(error.description.prefix(200))"
        )
        require(!error.code.isEmpty, "error without a code")
    }
    guard let again = try? SocketIOPacket.parse(Substring(packet.encoded())), let againName = again.eventName else {
        return 0  // covered by the socketio-packet target
    }
    let second = Result { () throws(ClientEventError) -> ClientEvent in
        try ClientEvent.decode(eventName: againName, arguments: again.arguments)
    }
    require(second == result, "decoding differs after re-encoding: \(text.debugDescription)")
    return 0
}
