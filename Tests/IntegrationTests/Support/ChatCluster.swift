import ChatTestSupport
import Foundation
import XCTest

/// The real chat server for a test: one `RoomBroker` process and any number of `Gateway` processes,
/// each gateway on its own port so a test decides which gateway each client talks to.
final class ChatCluster {
    /// The broker process.
    private(set) var broker: ServerProcess
    /// The gateway processes, in the order they were added.
    private(set) var gateways: [ServerProcess] = []
    /// Each gateway's admin listener port (`--admin`: /status, /status.json, /metrics), by its client port.
    private(set) var adminPorts: [Int: Int] = [:]
    let commandsEndpoint = "tcp://127.0.0.1:\(ServerProcess.freePort())"
    let broadcastsEndpoint = "tcp://127.0.0.1:\(ServerProcess.freePort())"
    private let logPrefix: String
    /// Extra arguments of the broker (e.g. `--gateway-timeout 1`), kept for ``restartBroker()``.
    private let brokerArguments: [String]

    /// How long a process may take to start (the machine may be busy building).
    static let startTimeout: TimeInterval = 15

    /// Starts the broker with `brokerArguments`; logs go to `test-output/logs/<logPrefix>-*.log`.
    init(logPrefix: String, brokerArguments: [String] = []) throws {
        self.logPrefix = logPrefix
        self.brokerArguments = brokerArguments
        broker = try ServerProcess(
            executable: "RoomBroker",
            arguments: ["--commands", commandsEndpoint, "--broadcasts", broadcastsEndpoint, "--insecure-loopback"]
                + brokerArguments,
            logName: "\(logPrefix)-broker"
        )
        guard broker.waitForOutput(containing: "listening", timeout: Self.startTimeout) else {
            broker.stop()
            throw StartFailure(description: "the broker did not start:\n\(broker.output)")
        }
    }

    deinit { stop() }

    /// Stops the broker and starts a new one on the same endpoints (it has no rooms).
    func restartBroker() throws {
        broker.stop()
        broker = try ServerProcess(
            executable: "RoomBroker",
            arguments: ["--commands", commandsEndpoint, "--broadcasts", broadcastsEndpoint, "--insecure-loopback"]
                + brokerArguments,
            logName: "\(logPrefix)-broker-restarted"
        )
        guard broker.waitForOutput(containing: "listening", timeout: Self.startTimeout) else {
            throw StartFailure(description: "the broker did not restart:\n\(broker.output)")
        }
    }

    /// Starts a gateway with id `id` on a free port (or `port`), waits until `GET /healthz` answers 200
    /// and returns its port.
    @discardableResult
    func addGateway(_ id: String, port: Int = ServerProcess.freePort(), arguments: [String] = []) throws -> Int {
        try addGateways([id], arguments: arguments, ports: [port])[0]
    }

    /// Starts one gateway per id, each on its own free port, at once; waits until every one answers
    /// `GET /healthz` with 200 and returns their ports in the order of `ids`.
    func addGateways(_ ids: [String], arguments: [String] = [], ports: [Int]? = nil) throws -> [Int] {
        let ports = ports ?? ids.map { _ in ServerProcess.freePort() }
        var started: [(id: String, port: Int, process: ServerProcess)] = []
        for (id, port) in zip(ids, ports) {
            let adminPort = ServerProcess.freePort()
            adminPorts[port] = adminPort
            let gateway = try ServerProcess(
                executable: "Gateway",
                arguments: [
                    "--port", "\(port)", "--host", "127.0.0.1", "--admin", "127.0.0.1:\(adminPort)",
                    "--broker-commands", commandsEndpoint, "--broker-broadcasts", broadcastsEndpoint,
                    "--static-dir", ServerProcess.repositoryRoot.appendingPathComponent("static").path,
                    "--gateway-id", id, "--insecure-loopback",
                ] + arguments,
                logName: "\(logPrefix)-\(id)"
            )
            gateways.append(gateway)
            started.append((id, port, gateway))
        }
        let deadline = Date().addingTimeInterval(Self.startTimeout)
        for (id, port, gateway) in started {
            while !Self.isHealthy(port: port) {
                guard gateway.process.isRunning, Date() < deadline else {
                    throw StartFailure(
                        description: "gateway \(id) never answered GET /healthz with 200:\n\(gateway.output)"
                    )
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        return ports
    }

    /// `GET /metrics` of the gateway on client port `port`, from its admin listener.
    func metrics(ofGatewayOn port: Int) throws -> RawTestClient.HTTPResponse {
        try RawTestClient(port: adminPorts[port] ?? 0).request("GET", "/metrics")
    }

    /// Whether `GET /healthz` on `port` answers 200 (the gateway listens and reaches the broker).
    static func isHealthy(port: Int) -> Bool {
        guard let client = try? RawTestClient(port: port, timeoutSeconds: 1) else { return false }
        return (try? client.request("GET", "/healthz"))?.status == 200
    }

    /// Stops the gateways, then the broker.
    func stop() {
        for gateway in gateways { gateway.stop() }
        broker.stop()
    }

    /// A process that did not come up in time.
    struct StartFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// The last lines of every log, for failure messages.
    var logTails: String {
        ([("broker", broker)] + gateways.enumerated().map { ("gateway \($0.offset)", $0.element) })
            .map { name, process in
                "--- \(name):\n" + process.output.split(separator: "\n").suffix(15).joined(separator: "\n")
            }
            .joined(separator: "\n")
    }
}
