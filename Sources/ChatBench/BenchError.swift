/// Why a benchmark run could not go on.
enum BenchError: Error, CustomStringConvertible {
    /// Something did not happen in time.
    case timeout(String)
    /// The server answered something the benchmark did not expect.
    case protocolError(String)
    /// The options do not make a runnable scenario.
    case badOptions(String)

    var description: String {
        switch self {
        case .timeout(let text): "timeout: \(text)"
        case .protocolError(let text): "protocol: \(text)"
        case .badOptions(let text): "options: \(text)"
        }
    }
}
