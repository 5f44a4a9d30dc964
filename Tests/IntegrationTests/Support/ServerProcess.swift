import Foundation
import Synchronization
import XCTest

/// A real executable of this package (RoomBroker or Gateway) run for a test, its output kept in a log file.
final class ServerProcess {
    let process = Process()
    let logURL: URL

    /// The folder holding the built executables: `CHAT_BIN_DIR`, else the folder of the test bundle.
    static var binaryDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["CHAT_BIN_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        // The test binary lives in `<bin>/<name>.xctest` (Linux: a file; macOS: a bundle's inner binary).
        while url.pathExtension != "xctest" && url.pathComponents.count > 1 { url.deleteLastPathComponent() }
        return url.deletingLastPathComponent()
    }

    /// The repository root, for `static/` and `test-output/`.
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Starts `executable` with `arguments`; its output goes to `test-output/logs/<logName>.log`.
    init(executable: String, arguments: [String], logName: String) throws {
        let logs = Self.repositoryRoot.appendingPathComponent("test-output/logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        logURL = logs.appendingPathComponent("\(logName).log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        let binary = Self.binaryDirectory.appendingPathComponent(executable)
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            let missing = "\(binary.path) is not built; run `swift build` first or set CHAT_BIN_DIR"
            // Under CI a missing executable fails the test: a run that skipped them all must not pass.
            if Self.isCI { throw NotBuilt(description: missing + " (CI is set: not skipped)") }
            throw XCTSkip(missing)
        }
        process.executableURL = binary
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    /// Whether the `CI` environment variable is set (not empty, `0` or `false`), as `.ci/run` does.
    static var isCI: Bool {
        let value = ProcessInfo.processInfo.environment["CI"] ?? ""
        return !["", "0", "false"].contains(value.lowercased())
    }

    /// An executable a test needs was not built (under CI, where it is not skipped).
    struct NotBuilt: Error, CustomStringConvertible {
        var description: String
    }

    /// Everything the process printed so far.
    var output: String {
        (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
    }

    /// Waits up to `timeout` seconds until the output contains `text`.
    func waitForOutput(containing text: String, timeout: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if output.contains(text) { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    /// Sends SIGTERM and waits for the process to end.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }

    /// Ports this test process handed out already.
    private static let handedOut = Mutex<Set<Int>>([])

    /// A TCP port on 127.0.0.1 that was free a moment ago and that this process never handed out
    /// before: the kernel may offer a closed port again at once, and two servers of one test given the
    /// same one fail to start ("Address already in use").
    static func freePort() -> Int {
        while true {
            let port = anyFreePort()
            if handedOut.withLock({ $0.insert(port).inserted }) { return port }
        }
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    private static func anyFreePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
