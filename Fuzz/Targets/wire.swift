// Gateway-broker wire format, both directions. The first input byte picks the decoder:
// 0 WireCommand (gateway -> broker), 1 WireReply (broker -> gateway), 2 WireBroadcast (broker ->
// gateways; the rest is split into frames). A frame that decodes re-encodes to the same bytes.
import ChatWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWire(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard let selector = input.first else { return 0 }
    let frame = Array(input.dropFirst())
    switch selector % 3 {
    case 0:
        let ids = WireCommand.ids(ofUndecodable: frame)
        guard let command = try? WireCommand.decode(frame) else { return 0 }
        require(command.encoded() == frame, "command re-encodes differently: \(preview(frame))")
        require(ids == (command.requestID, command.connectionID), "ids(ofUndecodable:) disagrees with decode")
        require((try? WireCommand.decode(command.encoded())) == command, "command does not round-trip")
    case 1:
        guard let reply = try? WireReply.decode(frame) else { return 0 }
        require(reply.encoded() == frame, "reply re-encodes differently: \(preview(frame))")
        require((try? WireReply.decode(reply.encoded())) == reply, "reply does not round-trip")
    default:
        let frames = splitFrames(frame, count: Int(selector / 3) % 5)
        guard let broadcast = try? WireBroadcast.decode(frames) else { return 0 }
        require(broadcast.encoded() == frames, "broadcast re-encodes differently: \(frames.map { preview($0) })")
        require((try? WireBroadcast.decode(broadcast.encoded())) == broadcast, "broadcast does not round-trip")
    }
    return 0
}

/// `count` frames (0-4; 3 is what a broadcast has): each but the last is a one-byte length and that
/// many bytes, the last is the rest.
private func splitFrames(_ bytes: [UInt8], count: Int) -> [[UInt8]] {
    var frames: [[UInt8]] = []
    var rest = bytes[...]
    while frames.count + 1 < count, let length = rest.first {
        rest = rest.dropFirst()
        let take = min(Int(length), rest.count)
        frames.append(Array(rest.prefix(take)))
        rest = rest.dropFirst(take)
    }
    if count > 0 { frames.append(Array(rest)) }
    return frames
}
