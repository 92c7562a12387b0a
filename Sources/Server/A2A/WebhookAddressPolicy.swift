import Foundation
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Decides where a webhook may be sent: only to globally reachable unicast addresses
/// (`SpecialPurposeAddresses`), unless the server allows its own network. A name is resolved
/// once per check; the sender connects to exactly the address that was checked, so a name that
/// answers differently a moment later (DNS rebinding) cannot redirect the POST. A name that
/// does not resolve is refused: it cannot be judged.
public struct WebhookAddressPolicy: Sendable {
    /// The address a webhook is to be sent to.
    public struct Target: Sendable, Equatable {
        /// The numeric form to connect to, e.g. `93.184.216.34` or `2606:2800:220:1::1`.
        public var address: String
        /// Whether the URL named the address itself (no name was resolved).
        public var isLiteral: Bool
    }

    /// Why a webhook host is refused (the message names the host and the reason).
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public var allowsPrivateAddresses: Bool

    public init(allowsPrivateAddresses: Bool) {
        self.allowsPrivateAddresses = allowsPrivateAddresses
    }

    /// Resolves `host` once and checks every address it has; returns the first (the one to
    /// connect to). With private addresses allowed, the host is still resolved (so that an
    /// unresolvable name fails early) but any address passes.
    public func check(host rawHost: String) async throws -> Target {
        let host = rawHost.hasPrefix("[") && rawHost.hasSuffix("]") ? String(rawHost.dropFirst().dropLast()) : rawHost
        guard !host.isEmpty, host.utf8.count <= 253 else { throw Refusal(description: "the host name is empty or longer than 253 bytes") }
        if let literal = Self.parseLiteral(host) {
            try judge([literal], host: host)
            return Target(address: Self.text(of: literal), isLiteral: true)
        }
        let addresses: [[UInt8]]
        do {
            addresses = try await NIOThreadPool.singleton.runIfActive { try Self.resolve(host) }
        } catch let refusal as Refusal {
            throw refusal
        } catch {
            throw Refusal(description: "\(host) cannot be resolved now (\(error))")
        }
        guard let first = addresses.first else { throw Refusal(description: "\(host) has no address") }
        try judge(addresses, host: host)
        return Target(address: Self.text(of: first), isLiteral: false)
    }

    private func judge(_ addresses: [[UInt8]], host: String) throws {
        guard !allowsPrivateAddresses else { return }
        for address in addresses {
            if let reason = SpecialPurposeAddresses.restriction(of: address) {
                let shown = Self.text(of: address)
                throw Refusal(description: "\(host) is \(shown == host ? "" : "\(shown), ")a \(reason) address")
            }
        }
    }

    /// An IPv4 or IPv6 address written as such (dotted quad or RFC 4291 text), as bytes.
    static func parseLiteral(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    /// The numeric text of an address (4 or 16 bytes).
    static func text(of address: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = address.count == 4 ? AF_INET : AF_INET6
        let converted = address.withUnsafeBytes { bytes in
            inet_ntop(family, bytes.baseAddress, &buffer, socklen_t(buffer.count))
        }
        guard converted != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Every address `host` resolves to (getaddrinfo: the system's resolver, /etc/hosts included).
    private static func resolve(_ host: String) throws -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &results)
        guard status == 0, let first = results else {
            throw Refusal(description: "\(host) does not resolve (\(String(cString: gai_strerror(status))))")
        }
        defer { freeaddrinfo(first) }
        var addresses: [[UInt8]] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let address = entry.pointee.ai_addr {
                if entry.pointee.ai_family == AF_INET {
                    addresses.append(address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                        withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
                    })
                } else if entry.pointee.ai_family == AF_INET6 {
                    addresses.append(address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                        withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
                    })
                }
            }
            cursor = entry.pointee.ai_next
        }
        return addresses
    }
}
