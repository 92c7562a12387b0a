import Foundation

/// A replica's name in work-queue leases and logs: `--replica-id`, else the host name, the
/// process id and a random suffix (a restarted pod may reuse both host name and pid, and must
/// not be taken for the replica whose leases it finds).
public enum ReplicaIdentity {
    public static func make(given: String?) -> String {
        if let given { return given }
        let host = ProcessInfo.processInfo.hostName.prefix(60).map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "-" }
        var generator = SystemRandomNumberGenerator()
        let suffix = (0..<3).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        return "\(String(host).isEmpty ? "replica" : String(host))-\(ProcessInfo.processInfo.processIdentifier)-\(suffix)"
    }
}
