import Security
import Testing

struct RoleMapTests {
    @Test func pairsMapValuesToRolesAndTheHighestWins() throws {
        let map = try RoleMap(parsing: " ares-admin=admin, ares-user = researcher,CN=ops=viewer ")
        #expect(map.roles == ["ares-admin": .admin, "ares-user": .researcher, "CN=ops": .viewer])
        #expect(map.highestRole(for: ["ares-user", "ares-admin", "unmapped"]) == .admin)
        #expect(map.highestRole(for: ["unmapped"]) == nil)
        #expect(try RoleMap(parsing: RoleMap.identityDefinition).roles == ["viewer": .viewer, "researcher": .researcher, "admin": .admin])
    }

    @Test(arguments: ["admin", "=admin", "x=root", "x=admin,x=viewer"])
    func unreadableMapsAreRefusedWithTheReason(_ definition: String) {
        #expect(throws: RoleMapError.self) { try RoleMap(parsing: definition) }
    }
}
