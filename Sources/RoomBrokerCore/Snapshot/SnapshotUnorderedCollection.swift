/// A collection whose iteration order depends on hashing (a dictionary or a set): the snapshot encoder
/// writes it in a canonical order instead, so that one state always encodes to the same bytes (a
/// decoded state re-encodes to identical bytes, and equal states compare equal as bytes).
///
/// The layout is the one the standard library's `init(from:)` reads: a keyed container for string,
/// `Int` and `CodingKeyRepresentable` keys (sorted by key), else an unkeyed container (of key, value
/// pairs for a dictionary) sorted by each key's or element's own encoding.
protocol SnapshotUnorderedCollection {
    /// Encodes the collection in canonical order.
    func encodeCanonically(to encoder: any Encoder) throws
}

extension Dictionary: SnapshotUnorderedCollection where Key: Encodable, Value: Encodable {
    func encodeCanonically(to encoder: any Encoder) throws {
        if let keyed = keyedEntries() {
            var container = encoder.container(keyedBy: SnapshotKey.self)
            for (key, value) in keyed { try container.encode(value, forKey: key) }
            return
        }
        let sorted = try map { (order: try SnapshotEncoder.canonicalBytes(of: $0.key), entry: $0) }
            .sorted { $0.order.lexicographicallyPrecedes($1.order) }
        var container = encoder.unkeyedContainer()
        for (_, entry) in sorted {
            try container.encode(entry.key)
            try container.encode(entry.value)
        }
    }

    /// The entries under their coding keys, sorted, when the keys make a keyed container.
    private func keyedEntries() -> [(SnapshotKey, Value)]? {
        if Key.self == String.self, let strings = self as? [String: Value] {
            return strings.sorted { $0.key < $1.key }.map { (SnapshotKey(stringValue: $0.key), $0.value) }
        }
        if Key.self == Int.self, let integers = self as? [Int: Value] {
            return integers.sorted { $0.key < $1.key }.map { (SnapshotKey(intValue: $0.key), $0.value) }
        }
        guard Key.self is any CodingKeyRepresentable.Type else { return nil }
        return compactMap { key, value in
            (key as? any CodingKeyRepresentable).map { (SnapshotKey(stringValue: $0.codingKey.stringValue), value) }
        }.sorted { $0.0.stringValue < $1.0.stringValue }
    }
}

extension Set: SnapshotUnorderedCollection where Element: Encodable {
    func encodeCanonically(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        if Element.self == String.self, let strings = self as? Set<String> {
            for string in strings.sorted() { try container.encode(string) }
            return
        }
        let sorted = try map { (order: try SnapshotEncoder.canonicalBytes(of: $0), element: $0) }
            .sorted { $0.order.lexicographicallyPrecedes($1.order) }
        for (_, element) in sorted { try container.encode(element) }
    }
}
