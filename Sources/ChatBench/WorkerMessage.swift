import Foundation

/// One line between the coordinating ChatBench and a worker process.
enum WorkerMessage: Sendable {
    /// Worker → coordinator: all its clients are connected.
    case connected
    /// Coordinator → worker: create the rooms and join.
    case join
    /// Worker → coordinator: joined; `missing` joined events had not arrived.
    case joined(missing: Int)
    /// Coordinator → worker: send from `start` to `end` (monotonic ns), then drain and report.
    case send(start: UInt64, end: UInt64)
    /// Worker → coordinator: the part's result.
    case result(PartResult)

    /// What a message is, without its values.
    enum Kind: String, Sendable {
        case connected, join, joined, send, result
    }

    var kind: Kind {
        switch self {
        case .connected: .connected
        case .join: .join
        case .joined: .joined
        case .send: .send
        case .result: .result
        }
    }

    /// One line of JSON, its keys in a fixed order.
    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    /// The message as one line (no newline).
    var line: String {
        switch self {
        case .connected, .join: kind.rawValue
        case .joined(let missing): "joined \(missing)"
        case .send(let start, let end): "send \(start) \(end)"
        case .result(let result):
            "result " + ((try? Self.encoder.encode(result)).map { String(decoding: $0, as: UTF8.self) } ?? "{}")
        }
    }

    /// Reads a line written by ``line``; `nil` when it is not a message.
    init?(line: String) {
        let words = line.split(separator: " ", maxSplits: 1)
        guard let first = words.first, let kind = Kind(rawValue: String(first)) else { return nil }
        let rest = words.count > 1 ? String(words[1]) : ""
        switch kind {
        case .connected: self = .connected
        case .join: self = .join
        case .joined:
            guard let missing = Int(rest) else { return nil }
            self = .joined(missing: missing)
        case .send:
            let times = rest.split(separator: " ").compactMap { UInt64($0) }
            guard times.count == 2 else { return nil }
            self = .send(start: times[0], end: times[1])
        case .result:
            guard let result = try? JSONDecoder().decode(PartResult.self, from: Data(rest.utf8)) else { return nil }
            self = .result(result)
        }
    }
}
