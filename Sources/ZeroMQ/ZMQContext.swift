import CZMQ

/// A libzmq context: the owner of I/O threads and the factory of sockets.
///
/// libzmq contexts are thread-safe, so one context may be shared across threads.
/// Every socket must be closed before ``terminate()`` (or deinit) returns.
public final class ZMQContext: @unchecked Sendable {
    private let handle: UnsafeMutableRawPointer

    /// Creates a context with `ioThreads` background I/O threads.
    public init(ioThreads: Int32 = 1) throws(ZMQError) {
        guard let handle = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        self.handle = handle
        if zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads) != 0 {
            let error = ZMQError.last("zmq_ctx_set(ZMQ_IO_THREADS)")
            zmq_ctx_term(handle)
            throw error
        }
    }

    /// The raw context, for ``ZMQSocket``.
    var rawHandle: UnsafeMutableRawPointer { handle }

    /// Makes a new socket of `type` in this context.
    public func socket(_ type: ZMQSocketType) throws(ZMQError) -> ZMQSocket {
        try ZMQSocket(context: self, type: type)
    }

    /// Interrupts every blocking call in this context: they fail with `ETERM`.
    public func shutdown() {
        zmq_ctx_shutdown(handle)
    }

    deinit {
        // Blocks until every socket is closed; sockets default to linger 0 here.
        zmq_ctx_term(handle)
    }
}
