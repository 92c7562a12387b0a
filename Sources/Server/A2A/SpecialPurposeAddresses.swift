/// Classifies IP addresses by the IANA special-purpose address registries (IPv4 and IPv6,
/// RFC 6890 and its updates) and the multicast ranges, to decide whether a webhook may be sent
/// to an address: only globally reachable unicast addresses are allowed. Forms that embed an
/// IPv4 address in IPv6 (mapped, translated, NAT64, 6to4, IPv4-compatible) are judged by the
/// IPv4 address they carry, so `[::ffff:127.0.0.1]` or `[64:ff9b::7f00:1]` is loopback.
///
/// The tables list every registry entry, including the few that IANA marks globally reachable
/// (anycast relays and AS112 servers): no webhook has a reason to target those either, so
/// everything listed is refused.
public enum SpecialPurposeAddresses {
    /// One registry entry: a prefix and what it is.
    public struct Block: Sendable {
        public var bytes: [UInt8]
        public var prefixLength: Int
        public var name: String

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var remaining = prefixLength
            for (candidate, prefix) in zip(address, bytes) {
                guard remaining > 0 else { return true }
                let bits = min(8, remaining)
                let mask: UInt8 = bits == 8 ? 0xFF : ~(0xFF >> UInt8(bits))
                guard candidate & mask == prefix & mask else { return false }
                remaining -= bits
            }
            return true
        }
    }

    /// IANA IPv4 Special-Purpose Address Registry, plus multicast (224.0.0.0/4). The first
    /// matching entry names the reason, so narrower blocks come before wider ones they lie in.
    public static let ipv4: [Block] = [
        v4(0, 0, 0, 0, 8, "this network"),
        v4(10, 0, 0, 0, 8, "private-use"),
        v4(100, 64, 0, 0, 10, "shared address space (carrier-grade NAT)"),
        v4(127, 0, 0, 0, 8, "loopback"),
        v4(169, 254, 0, 0, 16, "link-local (cloud metadata services live here)"),
        v4(172, 16, 0, 0, 12, "private-use"),
        v4(192, 0, 0, 0, 24, "IETF protocol assignments"),
        v4(192, 0, 2, 0, 24, "documentation (TEST-NET-1)"),
        v4(192, 31, 196, 0, 24, "AS112-v4"),
        v4(192, 52, 193, 0, 24, "AMT"),
        v4(192, 88, 99, 0, 24, "deprecated 6to4 relay anycast"),
        v4(192, 168, 0, 0, 16, "private-use"),
        v4(192, 175, 48, 0, 24, "direct delegation AS112 service"),
        v4(198, 18, 0, 0, 15, "benchmarking"),
        v4(198, 51, 100, 0, 24, "documentation (TEST-NET-2)"),
        v4(203, 0, 113, 0, 24, "documentation (TEST-NET-3)"),
        v4(224, 0, 0, 0, 4, "multicast"),
        v4(255, 255, 255, 255, 32, "limited broadcast"),
        v4(240, 0, 0, 0, 4, "reserved"),
    ]

    /// IANA IPv6 Special-Purpose Address Registry, plus multicast, the deprecated site-local
    /// range, and everything outside global unicast (2000::/3) as the last entry. The forms that
    /// embed IPv4 are handled before this table (`embeddedIPv4`).
    public static let ipv6: [Block] = [
        v6([], 128, "unspecified"),
        v6([0, 0, 0, 0, 0, 0, 0, 1], 128, "loopback"),
        v6([0, 0, 0, 0, 0, 0xFFFF], 96, "IPv4-mapped"),
        v6([0, 0, 0, 0, 0xFFFF, 0], 96, "IPv4-translated"),
        v6([], 96, "IPv4-compatible (deprecated)"),
        v6([0x64, 0xFF9B], 96, "IPv4/IPv6 translation (NAT64)"),
        v6([0x64, 0xFF9B, 1], 48, "local-use IPv4/IPv6 translation"),
        v6([0x100], 64, "discard-only"),
        v6([0x100, 0, 0, 1], 64, "dummy IPv6 prefix"),
        v6([0x2001], 23, "IETF protocol assignments (Teredo, benchmarking, ORCHID, ...)"),
        v6([0x2001, 0xDB8], 32, "documentation"),
        v6([0x2002], 16, "6to4"),
        v6([0x2620, 0x4F, 0x8000], 48, "direct delegation AS112 service"),
        v6([0x3FFF], 20, "documentation"),
        v6([0x5F00], 16, "segment routing (SRv6) SIDs"),
        v6([0xFC00], 7, "unique-local"),
        v6([0xFE80], 10, "link-local"),
        v6([0xFEC0], 10, "site-local (deprecated)"),
        v6([0xFF00], 8, "multicast"),
    ]

    /// Why `address` (4 or 16 bytes) is not a globally reachable unicast address, or nil when
    /// it is one. Any other length is refused.
    public static func restriction(of address: [UInt8]) -> String? {
        switch address.count {
        case 4:
            return ipv4.first { $0.contains(address) }?.name
        case 16:
            if let (embedded, form) = embeddedIPv4(address) {
                // NAT64 carries public IPv4 addresses legitimately; the other forms are
                // deprecated or never routed, so they are refused whatever they carry.
                if let inner = restriction(of: embedded) { return "\(form) of an IPv4 \(inner) address" }
                return form == "NAT64" ? nil : form
            }
            if let block = ipv6.first(where: { $0.contains(address) }) { return block.name }
            // Global unicast is 2000::/3; the rest of the space is unassigned or reserved.
            return address[0] & 0xE0 == 0x20 ? nil : "outside global unicast (2000::/3)"
        default:
            return "not an IPv4 or IPv6 address"
        }
    }

    /// The IPv4 address an IPv6 address carries, and the form that carries it.
    static func embeddedIPv4(_ address: [UInt8]) -> (ipv4: [UInt8], form: String)? {
        guard address.count == 16 else { return nil }
        let zeroes = { (range: Range<Int>) in address[range].allSatisfy { $0 == 0 } }
        let last4 = Array(address[12..<16])
        if zeroes(0..<10), address[10] == 0xFF, address[11] == 0xFF { return (last4, "IPv4-mapped") }
        if zeroes(0..<8), address[8] == 0xFF, address[9] == 0xFF, zeroes(10..<12) { return (last4, "IPv4-translated") }
        if address[0] == 0x00, address[1] == 0x64, address[2] == 0xFF, address[3] == 0x9B, zeroes(4..<12) { return (last4, "NAT64") }
        if address[0] == 0x20, address[1] == 0x02 { return (Array(address[2..<6]), "6to4") }
        // ::a.b.c.d (IPv4-compatible); :: and ::1 are matched by the table instead.
        if zeroes(0..<12), !zeroes(12..<15) || address[15] > 1 { return (last4, "IPv4-compatible") }
        return nil
    }

    private static func v4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ length: Int, _ name: String) -> Block {
        Block(bytes: [a, b, c, d], prefixLength: length, name: name)
    }

    /// An IPv6 prefix from its leading 16-bit groups (the rest zero).
    private static func v6(_ groups: [UInt16], _ length: Int, _ name: String) -> Block {
        var bytes = [UInt8](repeating: 0, count: 16)
        for (index, group) in groups.prefix(8).enumerated() {
            bytes[index * 2] = UInt8(group >> 8)
            bytes[index * 2 + 1] = UInt8(group & 0xFF)
        }
        return Block(bytes: bytes, prefixLength: length, name: name)
    }
}
