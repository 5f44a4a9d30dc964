import CZMQ

/// A libzmq call that failed, with the library's own explanation.
public enum ZMQError: Error, CustomStringConvertible, Equatable, Sendable {
    /// `operation` failed with `errno`; `message` is `zmq_strerror(errno)`.
    case failed(operation: String, errno: Int32, message: String)
    /// The socket was already closed when `operation` was attempted.
    case socketClosed(operation: String)

    /// Builds the error for the current `zmq_errno()`.
    static func last(_ operation: String) -> ZMQError {
        let code = zmq_errno()
        return .failed(operation: operation, errno: code, message: String(cString: zmq_strerror(code)))
    }

    /// The errno of a failed call, if any.
    public var errno: Int32? {
        if case .failed(_, let code, _) = self { return code }
        return nil
    }

    public var description: String {
        switch self {
        case .failed(let operation, let code, let message):
            return "ZeroMQ \(operation) failed: \(message) (errno \(code))"
        case .socketClosed(let operation):
            return "ZeroMQ \(operation) failed: the socket is already closed"
        }
    }
}
