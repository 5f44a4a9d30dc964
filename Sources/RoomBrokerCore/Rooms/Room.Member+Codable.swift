import ChatWire

/// A member in a snapshot: its name key is derived from its name on decoding, not stored (the layout
/// stays that of earlier builds, whose snapshots a standby of this one loads).
extension Room.Member {
    private enum CodingKeys: String, CodingKey {
        case connection
        case name
        case disconnectedSince
        case pid
        case joinSeq
        case ownResumes
        case client
        case token
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            connection: try container.decode(ConnectionKey.self, forKey: .connection),
            name: try container.decode(String.self, forKey: .name),
            disconnectedSince: try container.decodeIfPresent(UInt64.self, forKey: .disconnectedSince),
            pid: try container.decode(String.self, forKey: .pid),
            joinSeq: try container.decode(UInt64.self, forKey: .joinSeq),
            ownResumes: try container.decode([UInt64].self, forKey: .ownResumes),
            // Absent from the snapshots of builds before it.
            client: try container.decodeIfPresent(String.self, forKey: .client) ?? "",
            token: try container.decodeIfPresent(ResumeToken.self, forKey: .token)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(connection, forKey: .connection)
        try container.encode(name, forKey: .name)
        try container.encodeIfPresent(disconnectedSince, forKey: .disconnectedSince)
        try container.encode(pid, forKey: .pid)
        try container.encode(joinSeq, forKey: .joinSeq)
        try container.encode(ownResumes, forKey: .ownResumes)
        try container.encode(client, forKey: .client)
        try container.encodeIfPresent(token, forKey: .token)
    }
}
