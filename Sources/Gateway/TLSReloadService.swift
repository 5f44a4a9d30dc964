import GatewayCore
import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP reloads the TLS certificate and key (`--tls-cert`, `--tls-key`): new connections get the new
/// ones, open connections keep theirs. Logged as `tls-reloaded` with the old and new certificate's
/// expiry and SHA-256 fingerprint (never key material), or `tls-reload-failed` with the reason (the
/// current certificate stays). Without TLS, SIGHUP is logged and otherwise ignored: it never stops the gateway.
struct TLSReloadService: Service {
    let tls: GatewayTLS?
    let logger: Logger

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        try? await cancelWhenGracefulShutdown {
            for await _ in hangups { reload() }
        }
    }

    private func reload() {
        guard let tls else {
            logger.info("sighup", metadata: ["reason": "nothing to reload: no --tls-cert"])
            return
        }
        do {
            let (old, new) = try tls.reload()
            logger.notice(
                "tls-reloaded",
                metadata: [
                    "cert": "\(tls.certificatePath)",
                    "changed": "\(old.fingerprint != new.fingerprint)",
                    "valid-until": "\(new.notValidAfter)", "sha256": "\(new.fingerprint)",
                    "was-valid-until": "\(old.notValidAfter)", "was-sha256": "\(old.fingerprint)",
                ]
            )
        } catch {
            logger.error(
                "tls-reload-failed",
                metadata: ["reason": "\(error)", "kept-sha256": "\(tls.current.fingerprint)"]
            )
        }
    }
}
