/// Why the broker dropped a message unread (`chat_broker_messages_refused_total{reason}`).
public enum RefusedMessageReason: String, CaseIterable, Sendable {
    /// Its connection's key is not (or no longer, after a reload) in the allow-list.
    case unknownKey = "unknown_key"
    /// Its routing id is not bound to its key's name.
    case routingIDNotBound = "routing_id_not_bound"
    /// It carried no `User-Id` on a socket with CURVE.
    case missingUserID = "missing_user_id"
    /// It came on a second connection to the peer link (without CURVE).
    case secondPeer = "second_peer"
    /// It had more parts than any message of the protocol.
    case tooManyParts = "too_many_parts"
}
