/// The entries of one keyed container, indexed when it is opened, and the lookup of a key among them.
///
/// Decoders ask for keys mostly in the order they were written (a struct's fields, a dictionary's
/// `allKeys`), so a lookup first tries the entry after the last one found: O(1). Otherwise a small
/// container is scanned, and a large one (a dictionary of thousands of keys) gets a hash index on its
/// first miss: decoding any container of n entries stays O(n), in any order.
final class SnapshotKeyedEntries {
    /// One entry: its key (an index into the key table) and where its value lies.
    struct Entry {
        let key: Int
        let start: Int
        let end: Int
    }

    /// Containers with more entries than this get a hash index instead of scans.
    static let scanLimit = 16

    let entries: [Entry]
    let keys: [String]
    /// The entry after the last one found.
    private var cursor = 0
    /// Entry positions by key (the first entry of a repeated key), built on the first miss.
    private var index: [String: Int]?

    /// Indexes the entries in `content`; every key index and value length is checked.
    init(reader: SnapshotReader, content: Range<Int>, path: () -> String) throws(SnapshotCodingError) {
        keys = reader.keys
        var entries: [Entry] = []
        var position = content.lowerBound
        while position < content.upperBound {
            let keyOffset = position
            let key = try reader.varint(at: &position, limit: content.upperBound, path: path)
            guard key < UInt64(keys.count) else { throw .badKeyIndex(key, keys: keys.count, offset: keyOffset) }
            let end = try reader.end(ofValueAt: position, limit: content.upperBound, path: path)
            entries.append(Entry(key: Int(key), start: position, end: end))
            position = end
        }
        self.entries = entries
    }

    /// The keys in the order written.
    var keyStrings: [String] { entries.map { keys[$0.key] } }

    /// The entry for `key`, if there is one.
    func find(_ key: String) -> Entry? {
        if cursor < entries.count, keys[entries[cursor].key] == key {
            cursor += 1
            return entries[cursor - 1]
        }
        // The same key again (`contains`, then `decodeNil`, then `decode`).
        if cursor > 0, keys[entries[cursor - 1].key] == key { return entries[cursor - 1] }
        let found: Int?
        if entries.count > Self.scanLimit {
            if index == nil { index = buildIndex() }
            found = index?[key]
        } else {
            found = entries.firstIndex { keys[$0.key] == key }
        }
        guard let found else { return nil }
        cursor = found + 1
        return entries[found]
    }

    private func buildIndex() -> [String: Int] {
        var index: [String: Int] = [:]
        index.reserveCapacity(entries.count)
        for (position, entry) in entries.enumerated() where index[keys[entry.key]] == nil {
            index[keys[entry.key]] = position
        }
        return index
    }
}
