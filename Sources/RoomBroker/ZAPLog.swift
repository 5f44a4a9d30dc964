import ChatLogging
import Logging
import ZeroMQ

/// Logs the ZAP handler's decisions: refusals (key prefix, peer address, domain, reason; never a secret)
/// as warnings and admissions as info, each throttled per address or name so a peer retrying its
/// handshake costs a few lines a minute.
struct ZAPLog: Sendable {
    private let refusals = LogThrottle<String>(limit: 5, per: .seconds(60), maxKeys: 1_000)
    private let admissions = LogThrottle<String>(limit: 5, per: .seconds(60), maxKeys: 1_000)

    func record(_ decisions: [ZAPDecision], logger: Logger) {
        for decision in decisions {
            var fields: Logger.Metadata = [
                "domain": "\(decision.domain)", "address": "\(decision.address.isEmpty ? "local" : decision.address)",
                "key": "\(decision.key?.prefix ?? "none")",
            ]
            if let refusal = decision.refusal {
                let verdict = refusals.check(decision.address)
                guard verdict.admitted else { continue }
                fields["reason"] = "\(refusal)"
                logger.warning("link-refused", metadata: fields.merging(verdict.metadata) { $1 })
            } else {
                let verdict = admissions.check(decision.name ?? "")
                guard verdict.admitted else { continue }
                fields["name"] = "\(decision.name ?? "")"
                logger.info("link-allowed", metadata: fields.merging(verdict.metadata) { $1 })
            }
        }
    }
}
