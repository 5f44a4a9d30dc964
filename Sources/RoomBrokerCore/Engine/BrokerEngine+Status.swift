import ChatWire
import FoundationEssentials

extension BrokerEngine {
    /// The engine's part of a ``BrokerStatusReport`` at `now` (monotonic ms) for a broker in `role`:
    /// rooms, members, the first `limit` gateways by id and the budgets. Costs O(rooms + gateways),
    /// never O(members): member counts per gateway are kept as memberships change.
    public func statusReport(
        role: BrokerRole,
        now: UInt64,
        listing limit: Int = BrokerStatusReport.maxGateways
    ) -> BrokerStatusReport {
        let members = registry.connectedMembersByGateway
        // Ids are cut 3 bytes short of the limit: a cut one ends in "…".
        let listed = (limit > 0 ? gateways.entries.keys.sorted() : []).prefix(max(0, limit)).map { id in
            BrokerStatusReport.Gateway(
                id: id.prefix(utf8Bytes: BrokerStatusReport.maxGatewayIDBytes - 3),
                members: members[id] ?? 0,
                silentMs: gateways.silence(of: id, now: now)
            )
        }
        return BrokerStatusReport(
            role: role,
            term: term,
            instance: instance,
            rooms: registry.rooms.count,
            members: registry.memberCount,
            connectedMembers: registry.connectedMembers,
            gatewayCount: gateways.entries.count,
            gateways: listed,
            budgets: registry.budgets
        )
    }

    /// The JSON a status reply carries for `report` (sorted keys), at most ``BrokerStatusReport/maxBytes``.
    static func json(of report: BrokerStatusReport) throws(ChatError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            bytes = Array(try encoder.encode(report))
        } catch {
            throw ChatError(.internalError, "the status report could not be encoded: \(error)")
        }
        guard bytes.count <= BrokerStatusReport.maxBytes else {
            throw ChatError(
                .internalError,
                "the status report took \(bytes.count) bytes, over \(BrokerStatusReport.maxBytes)"
            )
        }
        return bytes
    }
}
