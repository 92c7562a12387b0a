import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Tells whether a webhook host is (or resolves to) an address inside the server's own
/// network: loopback, RFC 1918 private, link-local, carrier-grade NAT, unique-local IPv6,
/// unspecified. Resolution happens when the config is created; the sender does not resolve
/// again, so a name that changes its address later is not caught (noted in docs/server.md).
enum WebhookAddressPolicy {
    /// The first internal address `host` resolves to, or nil when it has none.
    static func privateAddress(of host: String) -> String? {
        let name = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if name.lowercased() == "localhost" || name.lowercased().hasSuffix(".localhost") { return name }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &results) == 0, let first = results else { return nil }
        defer { freeaddrinfo(first) }
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let address = entry.pointee.ai_addr {
                if entry.pointee.ai_family == AF_INET {
                    let bytes = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                        withUnsafeBytes(of: pointer.pointee.sin_addr.s_addr) { Array($0) }
                    }
                    if isInternal(ipv4: bytes) { return bytes.map(String.init).joined(separator: ".") }
                } else if entry.pointee.ai_family == AF_INET6 {
                    let bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                        withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
                    }
                    if isInternal(ipv6: bytes) { return "IPv6 " + bytes.map { String(format: "%02x", $0) }.joined() }
                }
            }
            cursor = entry.pointee.ai_next
        }
        return nil
    }

    static func isInternal(ipv4 bytes: [UInt8]) -> Bool {
        guard bytes.count == 4 else { return true }
        switch (bytes[0], bytes[1]) {
        case (0, _), (10, _), (127, _): return true
        case (169, 254), (192, 168): return true
        case (172, 16...31): return true
        case (100, 64...127): return true
        default: return false
        }
    }

    static func isInternal(ipv6 bytes: [UInt8]) -> Bool {
        guard bytes.count == 16 else { return true }
        if bytes.allSatisfy({ $0 == 0 }) { return true }                                  // ::
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }         // ::1
        if bytes[0] & 0xFE == 0xFC { return true }                                         // fc00::/7
        if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return true }                     // fe80::/10
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return isInternal(ipv4: Array(bytes[12..<16]))                                 // ::ffff:a.b.c.d
        }
        return false
    }
}
