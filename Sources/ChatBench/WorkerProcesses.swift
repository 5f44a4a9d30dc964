import Foundation

/// The worker processes of a run split over several processes (one process may hold only as many
/// connections as its file-descriptor limit allows). Each is this executable again with
/// `--part K --parts N`; it takes the rooms of part K and is driven phase by phase over its stdin
/// and stdout, one line per step (see ``WorkerMessage``). Its log lines go to the shared stderr.
final class WorkerProcesses: @unchecked Sendable {
    private let processes: [Process]
    private let commands: [FileHandle]
    private var replies: [AsyncStream<String>.AsyncIterator]

    /// Starts `count` workers, each with `arguments` plus its `--part`.
    init(count: Int, arguments: [String]) throws {
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        var processes: [Process] = []
        var commands: [FileHandle] = []
        var replies: [AsyncStream<String>.AsyncIterator] = []
        for part in 0..<count {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments + ["--part", "\(part)", "--parts", "\(count)"]
            let input = Pipe()
            let output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            do {
                try process.run()
            } catch {
                for started in processes { started.terminate() }
                throw BenchError.badOptions("cannot start worker process \(part) (\(executable)): \(error)")
            }
            processes.append(process)
            commands.append(input.fileHandleForWriting)
            replies.append(LineReader.lines(of: output.fileHandleForReading.fileDescriptor).makeAsyncIterator())
        }
        self.processes = processes
        self.commands = commands
        self.replies = replies
    }

    /// Sends `message` to every worker.
    func sendAll(_ message: WorkerMessage) {
        let line = Data((message.line + "\n").utf8)
        for handle in commands { try? handle.write(contentsOf: line) }
    }

    /// Waits for each worker's next message, in worker order. Throws when one exits or says something else
    /// than `expected` (its own error is on stderr).
    func next(_ expected: WorkerMessage.Kind) async throws -> [WorkerMessage] {
        var messages: [WorkerMessage] = []
        for index in replies.indices {
            var iterator = replies[index]
            let line = await iterator.next()
            replies[index] = iterator
            guard let line else {
                throw BenchError.protocolError(
                    "worker process \(index) ended before it was \(expected); its error is above"
                )
            }
            guard let message = WorkerMessage(line: line), message.kind == expected else {
                throw BenchError.protocolError(
                    "worker process \(index) said \(line.prefix(200)) instead of \(expected)"
                )
            }
            messages.append(message)
        }
        return messages
    }

    /// Waits for every worker to exit.
    func waitForExit() async {
        for process in processes {
            while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        }
    }

    /// Stops the workers still running (SIGTERM to each one's pid).
    func terminate() {
        for process in processes where process.isRunning { process.terminate() }
    }
}
