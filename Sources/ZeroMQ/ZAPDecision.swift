/// What a ZAP handler answered to one request, and what to log about it.
public struct ZAPDecision: Sendable, Equatable {
    /// The reply frames: version, request id, status code, status text, user id, metadata.
    public var reply: [[UInt8]]
    /// Why the peer was refused; nil when it was allowed.
    public var refusal: ZAPRefusal?
    /// The ZAP domain of the socket that was connected to.
    public var domain: String
    /// The peer's address as libzmq gives it (an IP address for tcp://, empty for ipc://).
    public var address: String
    /// The client's public key, when it offered one (CURVE).
    public var key: CurvePublicKey?
    /// The name the allow-list gives the key (its file name without `.key`), when allowed.
    public var name: String?

    /// Whether the peer was allowed.
    public var allowed: Bool { refusal == nil }
}
