/// One Socket.IO v5 packet: the text that follows the Engine.IO message prefix `4`.
///
/// Text form: `<type digit>[/<namespace>,][<ack id>][<JSON data>]`. Binary packets
/// (with `<attachments>-` after the type) are refused.
public struct SocketIOPacket: Sendable, Equatable {
    /// The packet type.
    public var type: SocketIOPacketType
    /// The namespace, `"/"` by default. Any namespace parses; refusing others is up to the caller.
    public var namespace: String
    /// The ack id, when the sender wants an answer (events) or answers one (acks).
    public var ackID: UInt64?
    /// The JSON data, if any.
    public var data: JSONValue?

    /// Creates a packet.
    public init(type: SocketIOPacketType, namespace: String = "/", ackID: UInt64? = nil, data: JSONValue? = nil) {
        self.type = type
        self.namespace = namespace
        self.ackID = ackID
        self.data = data
    }

    /// The event name of an event packet (the first element of its data array).
    public var eventName: String? {
        type == .event ? data?[0]?.stringValue : nil
    }

    /// The arguments of an event or ack packet: the data array, without the event name for events.
    public var arguments: [JSONValue] {
        guard let elements = data?.arrayValue else { return [] }
        return type == .event ? Array(elements.dropFirst()) : elements
    }

    /// The longest ack id accepted, in digits (19 digits always fit in a `UInt64`).
    public static let maxAckIDDigits = 19
    /// The longest namespace accepted, in bytes with its leading `/`.
    public static let maxNamespaceBytes = 128

    /// Parses a Socket.IO packet (without the Engine.IO `4` in front), strictly: the data is read by
    /// `JSONParser` with `limits` (by default the caps for client input). Indexes UTF-8 bytes only.
    public static func parse(
        _ text: Substring,
        limits: JSONParserLimits = .client
    ) throws(SocketIOPacketError) -> SocketIOPacket {
        let utf8 = text.utf8
        var index = utf8.startIndex
        guard index < utf8.endIndex else { throw .empty }

        let typeByte = utf8[index]
        guard typeByte >= ASCII.zero, typeByte <= ASCII.nine,
            let type = SocketIOPacketType(rawValue: Int(typeByte - ASCII.zero))
        else { throw .unknownType(typeByte) }
        if type == .binaryEvent || type == .binaryAck { throw .binaryNotSupported }
        utf8.formIndex(after: &index)

        var packet = SocketIOPacket(type: type)

        // Namespace: from "/" up to a comma (consumed) or the end.
        if index < utf8.endIndex, utf8[index] == ASCII.slash {
            let end = utf8[index...].firstIndex(of: ASCII.comma) ?? utf8.endIndex
            let name = utf8[index..<end]
            guard name.count <= maxNamespaceBytes, !name.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                throw .invalidNamespace
            }
            packet.namespace = String(decoding: utf8[index..<end], as: UTF8.self)
            index = end < utf8.endIndex ? utf8.index(after: end) : end
        }

        // Ack id: a run of digits.
        let digitsStart = index
        var ackID: UInt64 = 0
        while index < utf8.endIndex, utf8[index] >= ASCII.zero, utf8[index] <= ASCII.nine {
            let (times10, overflow1) = ackID.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(utf8[index] - ASCII.zero))
            guard !overflow1, !overflow2, utf8.distance(from: digitsStart, to: index) < maxAckIDDigits else {
                throw .invalidAckID
            }
            ackID = sum
            utf8.formIndex(after: &index)
        }
        if index > digitsStart { packet.ackID = ackID }

        // Data: the rest is one JSON value (JSON rejects anything after it).
        if index < utf8.endIndex {
            do {
                packet.data = try JSONValue.parse(utf8[index...], limits: limits)
            } catch {
                throw .invalidJSON(error)
            }
        }

        try packet.validateData()
        return packet
    }

    /// Checks the data shape for the type, as the reference socket.io-parser does.
    private func validateData() throws(SocketIOPacketError) {
        switch type {
        case .connect:
            guard data == nil || data?.objectValue != nil else {
                throw .invalidData(type: type, reason: "a connect packet carries an object or nothing.")
            }
        case .disconnect:
            guard data == nil else {
                throw .invalidData(type: type, reason: "a disconnect packet carries no data.")
            }
        case .event:
            guard let elements = data?.arrayValue, elements.first?.stringValue != nil else {
                throw .invalidData(
                    type: type,
                    reason: "an event must be a JSON array whose first element is the event name (a string)."
                )
            }
        case .ack:
            guard ackID != nil else { throw .invalidAckID }
            guard data?.arrayValue != nil else {
                throw .invalidData(type: type, reason: "an ack must carry a JSON array of arguments.")
            }
        case .connectError:
            guard data == nil || data?.objectValue != nil || data?.stringValue != nil else {
                throw .invalidData(type: type, reason: "a connect error carries an object or a string.")
            }
        case .binaryEvent, .binaryAck:
            throw .binaryNotSupported
        }
    }

    /// The packet as Socket.IO text (without the Engine.IO `4`); object keys in `data` are sorted.
    public func encoded() -> String {
        var writer = JSONWriter()
        Self.writeHeader(type: type, namespace: namespace, ackID: ackID, into: &writer)
        if let data { writer.value(data) }
        return writer.text
    }

    /// Writes `<type>[<namespace>,][<ack id>]`; the namespace is written only when it is not `"/"`.
    static func writeHeader(type: SocketIOPacketType, namespace: String, ackID: UInt64?, into writer: inout JSONWriter)
    {
        writer.appendVerbatim(type.digit)
        if namespace != "/" {
            writer.appendVerbatim(namespace)
            writer.appendVerbatim(ASCII.comma)
        }
        if let ackID { writer.appendDigits(ackID) }
    }
}
