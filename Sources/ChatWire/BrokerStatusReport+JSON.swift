import FoundationEssentials

extension BrokerStatusReport {
    /// Decodes the JSON of a broker's reply to `status`; nil when it is over ``maxBytes`` (checked before
    /// any parsing) or not a report. It comes from a broker over the authenticated link, never from a
    /// client, and the gateway reads it on its broker-link thread, not on an event loop.
    public init?(json: [UInt8]) {
        guard json.count <= Self.maxBytes, let report = try? JSONDecoder().decode(Self.self, from: Data(json)) else {
            return nil
        }
        self = report
    }
}
