/// One step of a coding path: a key, an index in an unkeyed container, or `super`.
enum SnapshotPathComponent {
    case key(String)
    case index(Int)

    var codingKey: SnapshotKey {
        switch self {
        case .key(let key): return SnapshotKey(stringValue: key)
        case .index(let index): return SnapshotKey(intValue: index)
        }
    }
}

/// A value's encoder or decoder, linked to its parent's: the coding path is walked only when asked for
/// (in errors), never built per value.
protocol SnapshotPathNode: AnyObject {
    var parentNode: (any SnapshotPathNode)? { get }
    var component: SnapshotPathComponent? { get }
}

extension SnapshotPathNode {
    /// The components from the root to this value.
    var components: [SnapshotPathComponent] {
        var components: [SnapshotPathComponent] = []
        var node: (any SnapshotPathNode)? = self
        while let current = node {
            if let component = current.component { components.append(component) }
            node = current.parentNode
        }
        return components.reversed()
    }

    /// The coding path from the root to this value.
    var codingPath: [any CodingKey] { components.map(\.codingKey) }

    /// The path as text, e.g. `registry.rooms["lobby"].history.slots[3]`, with `extra` appended.
    func path(_ extra: SnapshotPathComponent? = nil) -> String {
        var text = ""
        for component in components + (extra.map { [$0] } ?? []) {
            switch component {
            case .key(let key):
                let plain =
                    !key.isEmpty
                    && key.utf8.allSatisfy {
                        $0 == UInt8(ascii: "_") || (48...57).contains($0)
                            || (65...90).contains($0) || (97...122).contains($0)
                    }
                text += plain ? (text.isEmpty ? key : "." + key) : "[\"\(key.prefix(64))\"]"
            case .index(let index):
                text += "[\(index)]"
            }
        }
        return text.isEmpty ? "the root" : text
    }
}

/// A coding key of any string (or index): dictionary keys and keys read back from a snapshot.
struct SnapshotKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        intValue = Int(stringValue)
    }

    init(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }

    /// The key under which `superEncoder()` and `superDecoder()` keep the superclass's value.
    static let `super` = SnapshotKey(stringValue: "super")
}
