import ChatWire
import SocketIO

/// What the registry keeps and gives back: broadcasts kept for replays, the memory budget, expiry of
/// empty rooms and idle limiter keys, and the paged room list.
extension RoomRegistry {
    /// Numbers broadcast `seq` of `room` with the next broker-wide gseq, which it returns, and keeps its
    /// encoded form for replays and resumes.
    public mutating func recordBroadcast(room roomName: String, seq: UInt64, payload: [UInt8]) -> UInt64 {
        gseq += 1
        guard let index = rooms.index(forKey: roomName) else { return gseq }
        let released = rooms.values[index].recordBroadcast(seq: seq, gseq: gseq, payload: payload)
        let entry = StorageLedger.Entry(
            room: roomName,
            incarnation: rooms.values[index].incarnation,
            store: .replay,
            seq: seq
        )
        keep(entry, bytes: payload.count + 32, released: released.count, releasedBytes: released.bytes)
        return gseq
    }

    /// The kept broadcasts of `room` from `from` on, up to `to` and at most about `maxBytes` of payload
    /// (always at least one): a prefix of the range, the caller asks again for the rest. Throws
    /// `replay_unavailable` when `from` is no longer kept.
    public func replay(
        room roomName: String,
        from: UInt64,
        to: UInt64,
        maxBytes: Int = .max
    ) throws(ChatError) -> [Room.RecentBroadcast] {
        let roomName = try FieldValidator.room(roomName)
        guard let room = rooms[roomName] else { throw noSuchRoom(roomName) }
        guard from >= 1, from <= to, to <= room.lastSeq else {
            throw ChatError(.badRequest, "replay range \(from)...\(to) is outside 1...\(room.lastSeq)")
        }
        let kept = room.recentBroadcasts
        var offset = kept.firstOffset(atOrAfter: from)
        guard kept[offset]?.seq == from else {
            throw ChatError(.replayUnavailable, "events \(from)...\(to) of room \(roomName) are no longer kept")
        }
        var events: [Room.RecentBroadcast] = []
        var bytes = 0
        while let event = kept[offset], event.seq <= to {
            let size = event.payload.count + 12
            if !events.isEmpty, bytes + size > maxBytes { break }
            events.append(event)
            bytes += size
            offset += 1
        }
        return events
    }

    /// At most `limit` rooms (1–200; 0 means 100) whose names sort after `after` ("" for the first
    /// page), sorted by name, and the cursor of the next page.
    public func page(after rawAfter: String, limit: Int) throws(ChatError) -> RoomListPage {
        let after = rawAfter.isEmpty ? "" : try FieldValidator.room(rawAfter)
        guard limit >= 0, limit <= Self.maxPageSize else {
            throw ChatError(.badRequest, "limit must be between 1 and \(Self.maxPageSize)")
        }
        let size = limit == 0 ? Self.defaultPageSize : limit
        let start = after.isEmpty ? 0 : upperBound(of: after)
        let end = min(sortedNames.count, start + size)
        let names = sortedNames[start..<end]
        let summaries = names.compactMap { name in
            rooms[name].map { RoomListPage.Entry(room: $0.name, members: $0.members.count, created: $0.created) }
        }
        return RoomListPage(rooms: summaries, next: end < sortedNames.count ? names.last : nil)
    }

    /// Deletes rooms that have been empty longer than the grace period; returns their names.
    public mutating func expireEmptyRooms(now: BrokerClock) -> [String] {
        let grace = configuration.emptyRoomGraceMilliseconds
        let expired = rooms.values.filter { room in
            guard let since = room.emptySince else { return false }
            return now.monotonic >= since && now.monotonic - since >= grace
        }.map(\.name).sorted()
        for name in expired { removeRoom(name) }
        if now.monotonic - lastPurge >= Self.purgeIntervalMilliseconds || now.monotonic < lastPurge {
            lastPurge = now.monotonic
            failuresByConnection.purge(now: now.monotonic)
            failuresByClient.purge(now: now.monotonic)
            createsByConnection.purge(now: now.monotonic)
            createsByClient.purge(now: now.monotonic)
            createKeys.purge(now: now.monotonic)
            joinsByClient?.purge(now: now.monotonic)
            purgeCreationPrefixes(now: now)
            for index in rooms.indices where !rooms.values[index].messageKeys.isEmpty {
                rooms.values[index].expireKeys(now: now.monotonic)
            }
        }
        return expired
    }

    /// Accounts a newly kept element (and what its room dropped for it), then enforces the global budget.
    mutating func keep(_ entry: StorageLedger.Entry, bytes: Int, released: Int, releasedBytes: Int) {
        ledger.released(count: released, bytes: releasedBytes)
        ledger.added(entry, bytes: bytes)
        while ledger.totalBytes > configuration.memoryBudget, let oldest = ledger.popOldest() {
            guard let index = rooms.index(forKey: oldest.room), rooms.values[index].incarnation == oldest.incarnation,
                let bytes = rooms.values[index].dropOldest(of: oldest.store, ifSeq: oldest.seq)
            else { continue }
            ledger.released(count: 1, bytes: bytes)
        }
        let rooms = self.rooms
        ledger.compactIfNeeded { entry in
            guard let room = rooms[entry.room], room.incarnation == entry.incarnation else { return false }
            return room.keeps(entry.store, seq: entry.seq)
        }
    }

    mutating func removeRoom(_ name: String) {
        guard let room = rooms.removeValue(forKey: name) else { return }
        let stored = room.stored
        ledger.released(count: stored.count, bytes: stored.bytes)
        let index = insertionIndex(of: name)
        if index < sortedNames.count, sortedNames[index] == name { sortedNames.remove(at: index) }
        if !room.creator.isEmpty, let count = roomsByCreator[room.creator] {
            roomsByCreator[room.creator] = count > 1 ? count - 1 : nil
        }
    }

    /// The index of the first sorted name not less than `name`.
    func insertionIndex(of name: String) -> Int {
        var low = 0
        var high = sortedNames.count
        while low < high {
            let middle = (low + high) / 2
            if sortedNames[middle] < name { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The index of the first sorted name greater than `name`.
    func upperBound(of name: String) -> Int {
        let index = insertionIndex(of: name)
        return index < sortedNames.count && sortedNames[index] == name ? index + 1 : index
    }
}
