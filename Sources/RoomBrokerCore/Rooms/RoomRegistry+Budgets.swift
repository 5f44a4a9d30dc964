import ChatWire

/// What the registry's state uses of each budget, for the status report and the metrics.
extension RoomRegistry {
    /// Every ``BudgetName``'s use and bound now. Costs O(rooms), never O(members).
    public var budgets: [BrokerStatusReport.Budget] {
        let members = memberCount
        let limiterKeys =
            failuresByConnection.keyCount + failuresByClient.keyCount + createsByConnection.keyCount
            + createsByClient.keyCount + (joinsByClient?.trackedKeys ?? 0) + creationPrefixKeyCount
        return BudgetName.allCases.map { name in
            switch name {
            case .storedBytes: return .init(name, used: storedBytes, limit: configuration.memoryBudget)
            case .rooms: return .init(name, used: rooms.count, limit: configuration.maxRooms)
            case .disconnectedMembers:
                return .init(name, used: members - connectedMembers, limit: configuration.maxDisconnectedMembers)
            case .messageKeys: return .init(name, used: rooms.values.reduce(0) { $0 + $1.messageKeys.count })
            case .createKeys: return .init(name, used: createKeys.count, limit: CreateKeys.capacity)
            case .limiterKeys: return .init(name, used: limiterKeys)
            case .ledgerEntries: return .init(name, used: ledger.entryCount)
            case .graceEntries: return .init(name, used: inGrace.count, limit: configuration.maxDisconnectedMembers)
            }
        }
    }
}
