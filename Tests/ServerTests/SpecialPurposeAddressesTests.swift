import Server
import Testing

/// The webhook address policy, table by table: every entry of the IANA special-purpose
/// registries (IPv4 and IPv6) is refused at its first and last address, addresses just outside
/// a block are not, and IPv6 forms that carry an IPv4 address are judged by that address.
@Suite struct SpecialPurposeAddressesTests {
    private func v4(_ text: String) -> [UInt8] { text.split(separator: ".").compactMap { UInt8($0) } }

    /// The last address of a block: the prefix with every host bit set.
    private func lastAddress(of block: SpecialPurposeAddresses.Block) -> [UInt8] {
        var bytes = block.bytes
        for index in bytes.indices {
            let hostBits = max(0, min(8, (index + 1) * 8 - block.prefixLength))
            if hostBits > 0 { bytes[index] |= UInt8((1 << hostBits) - 1) }
        }
        return bytes
    }

    @Test func everyIPv4RegistryEntryIsRefusedAtBothEnds() {
        #expect(SpecialPurposeAddresses.ipv4.count == 19)
        for block in SpecialPurposeAddresses.ipv4 {
            #expect(SpecialPurposeAddresses.restriction(of: block.bytes) != nil, "\(block.bytes) (\(block.name))")
            #expect(SpecialPurposeAddresses.restriction(of: lastAddress(of: block)) != nil, "\(lastAddress(of: block)) (\(block.name))")
        }
    }

    @Test func ipv4AddressesJustOutsideTheBlocksArePublic() {
        for text in ["9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "126.255.255.255", "128.0.0.0",
                     "169.253.255.255", "169.255.0.0", "172.15.255.255", "172.32.0.0", "192.0.1.0", "192.0.3.0",
                     "192.167.255.255", "192.169.0.0", "198.17.255.255", "198.20.0.0", "203.0.112.255", "203.0.114.0",
                     "223.255.255.255", "8.8.8.8", "93.184.216.34", "1.1.1.1"] {
            #expect(SpecialPurposeAddresses.restriction(of: v4(text)) == nil, "\(text) was refused")
        }
    }

    @Test func theProbesIPv4FindingsAreRefusedWithTheirReason() {
        let cases = ["255.255.255.255": "broadcast", "224.0.0.1": "multicast", "239.255.255.250": "multicast",
                     "198.18.0.1": "benchmarking", "192.0.0.170": "IETF", "240.0.0.1": "reserved", "127.0.0.1": "loopback",
                     "169.254.169.254": "link-local", "0.0.0.0": "this network", "100.64.0.1": "shared"]
        for (text, reason) in cases {
            let restriction = SpecialPurposeAddresses.restriction(of: v4(text))
            #expect(restriction?.contains(reason) == true, "\(text): \(restriction ?? "allowed")")
        }
    }

    @Test func everyIPv6RegistryEntryIsRefusedAtBothEnds() {
        #expect(SpecialPurposeAddresses.ipv6.count == 19)
        for block in SpecialPurposeAddresses.ipv6 {
            #expect(SpecialPurposeAddresses.restriction(of: block.bytes) != nil, "\(block.bytes) (\(block.name))")
            let last = lastAddress(of: block)
            // NAT64 with a public IPv4 address is the one legitimate form (tested below).
            if block.name.contains("NAT64") { continue }
            #expect(SpecialPurposeAddresses.restriction(of: last) != nil, "\(last) (\(block.name))")
        }
    }

    private func v6(_ groups: [UInt16]) -> [UInt8] {
        groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }

    @Test func ipv6FormsThatEmbedIPv4AreJudgedByTheirIPv4Address() {
        let refused: [([UInt16], String)] = [
            ([0x64, 0xFF9B, 0, 0, 0, 0, 0x7F00, 1], "NAT64 of loopback"),
            ([0, 0, 0, 0, 0, 0, 0x7F00, 1], "IPv4-compatible loopback"),
            ([0x2002, 0x7F00, 1, 0, 0, 0, 0, 0], "6to4 of loopback"),
            ([0, 0, 0, 0, 0xFFFF, 0, 0x7F00, 1], "IPv4-translated loopback"),
            ([0, 0, 0, 0, 0, 0xFFFF, 0x7F00, 1], "IPv4-mapped loopback"),
            ([0, 0, 0, 0, 0, 0xFFFF, 0xA9FE, 0xA9FE], "IPv4-mapped link-local"),
            ([0x2002, 0x5DB8, 0xD822, 0, 0, 0, 0, 1], "6to4 (deprecated) of a public address"),
            ([0x2001, 0, 0x4136, 0xE378, 0x8000, 0x63BF, 0x3FFF, 0xFDD2], "Teredo"),
            ([0x1000, 0, 0, 0, 0, 0, 0, 1], "outside global unicast"),
        ]
        for (groups, name) in refused {
            #expect(SpecialPurposeAddresses.restriction(of: v6(groups)) != nil, "\(name) was allowed")
        }
        #expect(SpecialPurposeAddresses.restriction(of: v6([0x64, 0xFF9B, 0, 0, 0, 0, 0x5DB8, 0xD822])) == nil, "NAT64 of a public address")
        #expect(SpecialPurposeAddresses.restriction(of: v6([0x2606, 0x2800, 0x220, 1, 0x248, 0x1893, 0x25C8, 0x1946])) == nil)
        #expect(SpecialPurposeAddresses.restriction(of: v6([0x2A00, 0x1450, 0x4001, 0x80B, 0, 0, 0, 0x200E])) == nil)
        #expect(SpecialPurposeAddresses.restriction(of: [1, 2, 3]) != nil, "a malformed address must be refused")
    }

    @Test func theWebhookPolicyRefusesWhatDoesNotResolveAndChecksEveryAddress() async throws {
        let strict = WebhookAddressPolicy(allowsPrivateAddresses: false)
        for host in ["localhost", "localhost.", "127.0.0.1", "[::1]", "no-such-host.invalid", "", "[::ffff:10.0.0.1]"] {
            await #expect(throws: WebhookAddressPolicy.Refusal.self, "\(host) passed") { try await strict.check(host: host) }
        }
        let literal = try await strict.check(host: "93.184.216.34")
        #expect(literal.address == "93.184.216.34" && literal.isLiteral)
        let lenient = WebhookAddressPolicy(allowsPrivateAddresses: true)
        let local = try await lenient.check(host: "localhost")
        #expect(local.address == "127.0.0.1" || local.address == "::1")
        #expect(!local.isLiteral)
        await #expect(throws: WebhookAddressPolicy.Refusal.self) { try await lenient.check(host: "no-such-host.invalid") }
    }
}
