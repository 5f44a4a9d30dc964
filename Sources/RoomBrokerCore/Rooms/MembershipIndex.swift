/// The rooms each connection is a connected member of, for disconnect clean-up, and how many such
/// memberships each gateway holds, kept up to date as they change: the broker's status reply and
/// metrics read the counts without walking every connection.
struct MembershipIndex: Sendable, Codable {
    /// Rooms by connection (a connection without rooms has no entry).
    private var roomsByConnection: [ConnectionKey: Set<String>] = [:]
    /// Memberships by gateway (a gateway without any has no entry).
    private(set) var countsByGateway: [String: Int] = [:]
    /// Memberships over all gateways.
    private(set) var total = 0

    /// The rooms `connection` is a connected member of.
    func rooms(of connection: ConnectionKey) -> Set<String> {
        roomsByConnection[connection] ?? []
    }

    /// The connections with at least one room.
    var connections: Dictionary<ConnectionKey, Set<String>>.Keys { roomsByConnection.keys }

    /// Records that `connection` is a member of `room` (nothing when it was already).
    mutating func insert(_ room: String, for connection: ConnectionKey) {
        guard roomsByConnection[connection, default: []].insert(room).inserted else { return }
        count(connection.gateway, by: 1)
    }

    /// Forgets that `connection` is a member of `room` (nothing when it was not).
    mutating func remove(_ room: String, for connection: ConnectionKey) {
        guard let index = roomsByConnection.index(forKey: connection),
            roomsByConnection.values[index].remove(room) != nil
        else { return }
        if roomsByConnection.values[index].isEmpty { roomsByConnection.remove(at: index) }
        count(connection.gateway, by: -1)
    }

    /// Forgets every room of `connection`.
    mutating func removeAll(for connection: ConnectionKey) {
        guard let rooms = roomsByConnection.removeValue(forKey: connection) else { return }
        count(connection.gateway, by: -rooms.count)
    }

    private mutating func count(_ gateway: String, by delta: Int) {
        total += delta
        let count = countsByGateway[gateway, default: 0] + delta
        countsByGateway[gateway] = count > 0 ? count : nil
    }
}
