/// Why a CURVE key file (or a folder of them) could not be used; each description says what to do.
public enum CurveKeyFileError: Error, Equatable, CustomStringConvertible {
    /// A field of the `curve` section of a key file.
    public enum Field: String, Sendable {
        case publicKey = "public-key"
        case secretKey = "secret-key"
    }

    /// What is wrong with a field.
    public enum Problem: Sendable {
        case missing, notZ85, repeated
    }

    /// The file could not be opened or read (`reason`: the system's error text).
    case unreadable(path: String, reason: String)
    /// The path is a folder, a device or a pipe.
    case notARegularFile(path: String)
    /// The file is larger than any key file (`limit` bytes).
    case tooLarge(path: String, limit: Int)
    /// A secret key file that group or others may read or write (`mode`: its permission bits).
    case secretExposed(path: String, mode: UInt32)
    /// A field is missing, not 40 Z85 characters, or given twice.
    case badField(path: String, field: Field, problem: Problem)
    /// The public key written in a secret key file is not the one its secret key gives.
    case mismatchedKeys(path: String)
    /// A file that should hold only a public key holds a secret key too.
    case secretInPublicFile(path: String)
    /// A folder of authorised keys with no `*.key` file in it.
    case emptyAllowList(directory: String)
    /// A folder of authorised keys with more than `limit` key files.
    case tooManyKeys(directory: String, limit: Int)
    /// Writing would replace an existing key file.
    case exists(path: String)
    /// A key name with characters other than letters, digits, `.`, `_` and `-`.
    case badName(String)
    /// Writing the file failed (`reason`: the system's error text).
    case writeFailed(path: String, reason: String)
    /// A shard key file without exactly 32 hexadecimal digits (besides `#` comment lines).
    case badShardKey(path: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read the key file \(path): \(reason)"
        case .notARegularFile(let path):
            return "\(path) is not a regular file: give the path of a key file (scripts/keys writes them into keys/)"
        case .tooLarge(let path, let limit):
            return "\(path) is larger than \(limit) bytes, so it is not a key file written by scripts/keys or zcert"
        case .secretExposed(let path, let mode):
            return
                "the secret key file \(path) may be read or written by group or others (mode \(String(mode, radix: 8))): run `chmod 600 \(path)` (and keep it owned by the user the server runs as)"
        case .badField(let path, let field, let problem):
            switch problem {
            case .missing:
                return
                    "\(path) has no \(field.rawValue) line in its curve section: is it a key file written by scripts/keys or zcert?"
            case .notZ85:
                return
                    "the \(field.rawValue) in \(path) is not a key (40 characters of Z85): write the file again with scripts/keys"
            case .repeated: return "\(path) gives \(field.rawValue) more than once: keep one"
            }
        case .mismatchedKeys(let path):
            return "the public-key in \(path) does not belong to its secret-key: write the pair again with scripts/keys"
        case .secretInPublicFile(let path):
            return
                "\(path) holds a secret key where a public key is expected: pass NAME.key (public), never NAME.key_secret"
        case .emptyAllowList(let directory):
            return
                "\(directory) holds no *.key file, so no gateway could connect: copy the gateways' public NAME.key files into it (scripts/keys fills keys/authorized)"
        case .tooManyKeys(let directory, let limit):
            return "\(directory) holds more than \(limit) key files: keep only the authorised ones there"
        case .exists(let path):
            return "\(path) exists: keep it, or remove it (or pass --force) to make a new key"
        case .badName(let name):
            return
                "'\(name)' is not a key name: use letters, digits, '.', '_' and '-' (at most 64, not starting with '.')"
        case .writeFailed(let path, let reason):
            return "cannot write \(path): \(reason)"
        case .badShardKey(let path):
            return
                "\(path) is not a shard key (32 hexadecimal digits): write it with scripts/keys, and give every gateway and broker of the cluster the same file"
        }
    }
}
