import Foundation

/// The API keys the security probe needs (two researchers, a viewer, one to revoke), created
/// through the target's own admin API (`ares/createKey`) and revoked again at the end, so that
/// a run leaves no usable key behind. Only an admin credential can do this.
struct ProbeKeys: Sendable {
    let http: ProbeHTTP
    let path: String

    struct Key: Sendable {
        var id: String
        var secret: String
        var role: String
    }

    /// Nil when the target's credential may create keys; otherwise why not, in words.
    func adminProblem() async -> String? {
        switch await http.rpc(path, method: "ares/whoami", credential: .target) {
        case let .failure(failure):
            return "ares/whoami failed: \(failure)"
        case let .success(reply):
            if let code = reply.rpcErrorCode {
                return code == -32601 ? "the target has no ares/whoami method, so the probe cannot create the keys these checks need"
                                      : "ares/whoami was refused (\(reply.summary))"
            }
            guard let role = ProbeJSON.string(reply.object, "result", "role") else { return "ares/whoami answered no role (\(reply.summary))" }
            guard role == "admin" else {
                return "the credential is a \(role) credential; these checks need an admin credential to create and revoke their own keys (ares/createKey)"
            }
            return nil
        }
    }

    func create(role: String) async -> Result<Key, ProbeHTTP.Failure> {
        let name = "ares-validate-probe-\(role)-\(UUID().uuidString.prefix(8).lowercased())"
        switch await http.rpc(path, method: "ares/createKey", params: ["role": role, "name": name], credential: .target) {
        case let .failure(failure):
            return .failure(failure)
        case let .success(reply):
            guard let secret = ProbeJSON.string(reply.object, "result", "secret"), let id = ProbeJSON.string(reply.object, "result", "key", "id") else {
                return .failure(ProbeHTTP.Failure(description: "ares/createKey (\(role)) answered no key: \(reply.summary)"))
            }
            return .success(Key(id: id, secret: secret, role: role))
        }
    }

    /// Revokes a key; nil on success, else what went wrong.
    func revoke(_ id: String) async -> String? {
        switch await http.rpc(path, method: "ares/revokeKey", params: ["id": id], credential: .target) {
        case let .failure(failure): return "ares/revokeKey \(id) failed: \(failure)"
        case let .success(reply): return reply.hasRPCResult ? nil : "ares/revokeKey \(id) answered \(reply.summary)"
        }
    }
}
