/// Receives the events of one `EngineConnection`. Every call is made on the connection's event loop.
///
/// The connection keeps a strong reference to its delegate until `engineConnectionDidClose` returns.
public protocol EngineConnectionDelegate: AnyObject {
    /// The open packet was sent; the connection can send messages.
    func engineConnectionDidOpen(_ connection: EngineConnection)
    /// An Engine.IO message packet arrived; `payload` is the text after the leading `"4"`.
    func engineConnection(_ connection: EngineConnection, didReceiveMessage payload: Substring)
    /// The connection is closed (exactly once); `reason` says why, e.g. `.pingTimeout`.
    func engineConnectionDidClose(_ connection: EngineConnection, reason: CloseReason)
    /// An Engine.IO packet other than a message arrived (a pong, a client's ping, a noop); false drops
    /// it unhandled. The chat session charges it to the connection's rate like a message: no packet
    /// a client sends is free.
    func engineConnection(_ connection: EngineConnection, shouldHandleControlPacket type: UInt8) -> Bool
}

extension EngineConnectionDelegate {
    /// Every control packet is handled (delegates without a rate of their own).
    public func engineConnection(_ connection: EngineConnection, shouldHandleControlPacket type: UInt8) -> Bool {
        true
    }
}
