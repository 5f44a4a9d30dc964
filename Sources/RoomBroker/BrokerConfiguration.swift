import BrokerStorage
import RoomBrokerCore

/// Everything the broker process is started with.
struct BrokerConfiguration: Sendable {
    /// Endpoint of the ROUTER socket gateways send commands to.
    var commandsEndpoint: String
    /// Endpoint of the XPUB socket room broadcasts go out on.
    var broadcastsEndpoint: String
    /// Room sizes and limits.
    var registry: RoomRegistryConfiguration
    /// Silence after which a gateway's members are dropped, ms.
    var gatewayTimeoutMilliseconds: UInt64
    /// Broadcasts queued per gateway before the XPUB socket drops (gateways then replay by sequence number).
    var broadcastHighWaterMark: Int32
    /// The pair this broker is one half of; nil for a broker alone.
    var pair: PairConfiguration?
    /// Endpoint of this broker's peer ROUTER (the other broker's updates and heartbeats arrive there).
    var peerBind: String?
    /// The other broker's peer endpoint.
    var peerConnect: String?
    /// CURVE on every socket (`--curve-secret-key`, `--authorized-keys`, `--peer-public-key`); nil:
    /// plain links (ipc://, or tcp:// on loopback with `--insecure-loopback`).
    var curve: BrokerCurve?
    /// What the loop counts for `--metrics` (nil: nothing is counted).
    var metrics: BrokerMetrics? = nil
    /// The journal on disk (`--data-dir`); nil: memory only.
    var journal: BrokerJournal? = nil
    /// The state the journal read back at start, replayed before serving.
    var recovered: RecoveredState? = nil
    /// Journal bytes after which a snapshot is saved (`--snapshot-every`).
    var snapshotEveryBytes = 64 << 20
}
