import Foundation

/// The resident memory (RSS) of the server processes named by `--server-pids`, read from `/proc`.
struct ServerMemory: Sendable {
    /// The process ids.
    let pids: [Int32]

    /// The sum of the processes' `VmRSS`, KiB. Throws when one cannot be read (it exited).
    func residentKiB() throws -> Int {
        try pids.reduce(0) { sum, pid in
            let path = "/proc/\(pid)/status"
            guard let status = try? String(contentsOfFile: path, encoding: .utf8),
                let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
                let kib = line.split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap({ Int($0) })
            else {
                throw BenchError.badOptions("cannot read the RSS of server process \(pid) from \(path): is it running?")
            }
            return sum + kib
        }
    }
}
