import AresTestSupport
import Crypto
import Foundation
import Logging
import Security
import Testing
import _CryptoExtras
@testable import Identity

/// The verifier against a real OpenID provider (nanoidp: RS256 tokens, client credentials,
/// key rotation) and, for what nanoidp cannot produce, against a provider of static files
/// whose keys the test holds.
@Suite(.serialized) struct OIDCTokenVerifierTests {
    static let audience = "ares-unit"
    static let scopes = ["ares.viewer", "ares.researcher", "ares.admin", "ares.other"]

    static func provider(maxPreviousKeys: Int = 2) throws -> NanoIDP {
        try NanoIDP(audience: audience,
                    clients: [NanoIDP.Client(id: "orchestrator", scopes: scopes)],
                    users: [NanoIDP.User(name: "vera", roles: ["ares-viewer"]), NanoIDP.User(name: "rhea", roles: ["ares-researcher", "ares-viewer"]),
                            NanoIDP.User(name: "ada", roles: ["ares-admin"]), NanoIDP.User(name: "nobody", roles: ["unrelated"])],
                    scopes: scopes, maxPreviousKeys: maxPreviousKeys)
    }

    static func verifier(issuer: String, roleClaim: String = "roles", roleMap: String = "ares-viewer=viewer,ares-researcher=researcher,ares-admin=admin",
                         leeway: Int = 0, refetchInterval: Duration = .milliseconds(200)) throws -> OIDCTokenVerifier {
        var settings = try OIDCSettings(issuer: try #require(URL(string: issuer)), audience: audience, roleClaim: roleClaim,
                                        roleMap: try RoleMap(parsing: roleMap), leewaySeconds: leeway)
        settings.minimumRefetchInterval = refetchInterval
        settings.requestTimeout = .seconds(2)
        return OIDCTokenVerifier(settings: settings, logger: Logger(label: "test"))
    }

    static func reason(_ result: AuthenticationResult) -> String {
        if case let .rejected(reason) = result { return reason }
        return "accepted"
    }

    @Test func eachRoleOfTheRoleClaimBecomesThePrincipalsRole() async throws {
        let idp = try Self.provider()
        let verifier = try Self.verifier(issuer: idp.issuer)
        for (user, role) in [("vera", Role.viewer), ("rhea", .researcher), ("ada", .admin)] {
            let result = await verifier.verify(try await idp.userToken(user))
            let expectedID = OIDCTokenVerifier.principalID(issuer: idp.issuer, subject: user)
            #expect(result == .authenticated(Principal(id: expectedID, name: user, role: role)))
        }
        // Stable: a second token of the same subject names the same principal.
        guard case let .authenticated(first) = await verifier.verify(try await idp.userToken("rhea")),
              case let .authenticated(second) = await verifier.verify(try await idp.userToken("rhea")) else {
            Issue.record("rhea's tokens were refused"); return
        }
        #expect(first.id == second.id)
        #expect(first.id.hasPrefix("oidc:") && first.id.count == 29)
        #expect(Self.reason(await verifier.verify(try await idp.userToken("nobody"))).contains("grants no ares role"))
    }

    @Test func aMachineClientGetsItsRoleFromTheScopeOfTheClientCredentialsGrant() async throws {
        let idp = try Self.provider()
        let verifier = try Self.verifier(issuer: idp.issuer, roleClaim: "scope", roleMap: "ares.viewer=viewer,ares.researcher=researcher,ares.admin=admin")
        let researcher = await verifier.verify(try await idp.clientCredentialsToken(client: "orchestrator", scope: "ares.researcher"))
        #expect(researcher == .authenticated(Principal(id: OIDCTokenVerifier.principalID(issuer: idp.issuer, subject: "orchestrator"),
                                                       name: "orchestrator", role: .researcher)))
        // Highest wins.
        guard case let .authenticated(both) = await verifier.verify(try await idp.clientCredentialsToken(client: "orchestrator", scope: "ares.viewer ares.admin")) else {
            Issue.record("a token with two scopes was refused"); return
        }
        #expect(both.role == .admin)
        #expect(Self.reason(await verifier.verify(try await idp.clientCredentialsToken(client: "orchestrator", scope: "ares.other"))).contains("grants no ares role"))
    }

    @Test func tokensForAnotherAudienceExpiredOrAlteredAreRefused() async throws {
        let idp = try Self.provider()
        let verifier = try Self.verifier(issuer: idp.issuer, roleClaim: "scope", roleMap: "ares.researcher=researcher")
        let good = try await idp.clientCredentialsToken(client: "orchestrator", scope: "ares.researcher")
        guard case .authenticated = await verifier.verify(good) else { Issue.record("the real token was refused"); return }

        let otherAudience = try await idp.clientCredentialsToken(client: "orchestrator", scope: "ares.researcher", resource: "https://other.example/api")
        #expect(Self.reason(await verifier.verify(otherAudience)).contains("audience"))

        let expired = try await idp.userToken("rhea", expiresInMinutes: -2)
        let rolesVerifier = try Self.verifier(issuer: idp.issuer)
        #expect(Self.reason(await rolesVerifier.verify(expired)).contains("expired"))
        // Within the leeway an expired token still passes (clock skew), beyond it not.
        let lenient = try Self.verifier(issuer: idp.issuer, leeway: 300)
        #expect(await lenient.verify(expired) != .rejected("expired"))
        guard case .authenticated = await lenient.verify(expired) else { Issue.record("a token 2 min past exp was refused with a 300 s leeway"); return }

        let altered = TokenForgery.withPayload(good) { $0["scope"] = "ares.researcher ares.admin" }
        #expect(Self.reason(await verifier.verify(altered)) == "the token's signature does not verify")
        let otherSubject = TokenForgery.withPayload(good) { $0["sub"] = "someone-else" }
        #expect(Self.reason(await verifier.verify(otherSubject)) == "the token's signature does not verify")
    }

    @Test func algNoneHMACWithThePublicKeyAndUnknownKidsAreRefused() async throws {
        let idp = try Self.provider()
        let verifier = try Self.verifier(issuer: idp.issuer, roleClaim: "scope", roleMap: "ares.researcher=researcher")
        let good = try await idp.clientCredentialsToken(client: "orchestrator", scope: "ares.researcher")
        guard case .authenticated = await verifier.verify(good) else { Issue.record("the real token was refused"); return }

        #expect(Self.reason(await verifier.verify(TokenForgery.unsigned(good))).contains("alg 'none'"))

        // The classic key-confusion forgery: HS256 keyed with the provider's public key (PEM and raw modulus).
        let jwk = try #require(try await idp.jwks().first)
        let n = try #require(jwk["n"] as? String), e = try #require(jwk["e"] as? String)
        let modulus = try #require(Base64URL.decode(n))
        let exponent = try #require(Base64URL.decode(e))
        let publicKey = try _RSA.Signing.PublicKey(n: modulus, e: exponent)
        for secret in [Data(publicKey.pemRepresentation.utf8), Data((publicKey.pemRepresentation + "\n").utf8), modulus] {
            #expect(Self.reason(await verifier.verify(TokenForgery.hmacSigned(good, secret: secret))).contains("HMAC-signed tokens"))
        }

        // A real signature under a kid the provider does not publish: no fallback to the real key.
        let forgedKid = TokenForgery.withHeader(good) { $0["kid"] = "forged-kid" }
        #expect(Self.reason(await verifier.verify(forgedKid)).contains("does not publish"))
        let noKid = TokenForgery.withHeader(good) { $0["kid"] = nil }
        #expect(Self.reason(await verifier.verify(noKid)).contains("names no signing key"))
        let critical = TokenForgery.withHeader(good) { $0["crit"] = ["exp"] }
        #expect(Self.reason(await verifier.verify(critical)).contains("critical"))
        // The key is RSA: a token claiming ES256 for it is refused before any signature check.
        let wrongFamily = TokenForgery.withHeader(good) { $0["alg"] = "ES256" }
        #expect(Self.reason(await verifier.verify(wrongFamily)).contains("not published for ES256"))
        let oversized = good + String(repeating: "A", count: 17 * 1024)
        #expect(Self.reason(await verifier.verify(oversized)).contains("longer than"))
        // A header nested thousands deep or not JSON at all is refused, not a crash.
        let deep = TokenForgery.base64URL(Data(("{\"alg\":" + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "}").utf8))
        #expect(Self.reason(await verifier.verify(deep + "." + TokenForgery.parts(good)[1] + ".")).contains("header"))
        #expect(Self.reason(await verifier.verify("e30.e30.")).contains("no algorithm"))
        #expect(Self.reason(await verifier.verify("AAAA.AAAA.AAAA")).contains("header is not base64url-encoded JSON"))
    }

    @Test func aFloodOfForgedKidsFetchesTheJWKSAtMostOncePerInterval() async throws {
        let idp = try Self.provider()
        let verifier = try Self.verifier(issuer: idp.issuer, roleClaim: "scope", roleMap: "ares.researcher=researcher", refetchInterval: .seconds(60))
        let good = try await idp.clientCredentialsToken(client: "orchestrator", scope: "ares.researcher")
        guard case .authenticated = await verifier.verify(good) else { Issue.record("the real token was refused"); return }
        let before = verifier.keyStatus.fetches
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                let forged = TokenForgery.withHeader(good) { $0["kid"] = "forged-\(index)" }
                group.addTask { _ = await verifier.verify(forged) }
            }
        }
        let after = verifier.keyStatus.fetches
        #expect(after - before <= 1, "\(after - before) JWKS fetches for 200 forged kids")
        #expect(verifier.keyStatus.loaded)
        guard case .authenticated = await verifier.verify(good) else { Issue.record("the real token stopped working"); return }
    }

    @Test func keyRotationIsFollowedWithoutARestartAndARemovedKeysTokensAreRefused() async throws {
        let idp = try Self.provider(maxPreviousKeys: 0)
        let verifier = try Self.verifier(issuer: idp.issuer, roleClaim: "scope", roleMap: "ares.researcher=researcher", refetchInterval: .milliseconds(300))
        let old = try await idp.clientCredentialsToken(client: "orchestrator", scope: "ares.researcher")
        guard case .authenticated = await verifier.verify(old) else { Issue.record("the first token was refused"); return }
        let rotation = try await idp.rotateKeys()
        #expect(try await idp.publishedKeyIDs() == [rotation.new])
        try await Task.sleep(for: .milliseconds(400))
        let new = try await idp.clientCredentialsToken(client: "orchestrator", scope: "ares.researcher")
        #expect(TokenForgery.decode(TokenForgery.parts(new)[0])["kid"] as? String == rotation.new)
        guard case .authenticated = await verifier.verify(new) else { Issue.record("the new key's token was refused: \(Self.reason(await verifier.verify(new)))"); return }
        try await Task.sleep(for: .milliseconds(400))
        #expect(Self.reason(await verifier.verify(old)).contains("does not publish"))
    }

    @Test func cachedKeysKeepWorkingWhenTheProviderIsDownAndNoKeysIsAClearRefusal() async throws {
        let idp = try Self.provider()
        let verifier = try Self.verifier(issuer: idp.issuer)
        let token = try await idp.userToken("rhea")
        guard case .authenticated = await verifier.verify(token) else { Issue.record("refused while the provider is up"); return }
        idp.stop()
        guard case .authenticated = await verifier.verify(token) else { Issue.record("refused with cached keys while the provider is down"); return }

        let orphan = try Self.verifier(issuer: idp.issuer)
        let status = await orphan.loadKeys()
        #expect(!status.loaded && status.lastError != nil)
        #expect(Self.reason(await orphan.verify(token)).contains("identity provider is unavailable"))
    }

    @Test func aDiscoveryDocumentOfAnotherIssuerIsNotTrusted() async throws {
        let key = P256.Signing.PrivateKey()
        let provider = try StaticIdentityProvider(jwks: [Self.jwk(key, kid: "p1")], discoveryIssuer: "https://evil.example")
        let verifier = try Self.verifier(issuer: provider.issuer)
        let status = await verifier.loadKeys()
        #expect(!status.loaded)
        #expect(status.lastError?.contains("https://evil.example") == true)
    }

    @Test func anOversizedOrMalformedJWKSIsRefusedWithTheReason() async throws {
        let filler: [String: Any] = ["kty": "oct", "kid": String(repeating: "x", count: 200), "k": String(repeating: "A", count: 2000)]
        let provider = try StaticIdentityProvider(jwks: Array(repeating: filler, count: 150))
        let verifier = try Self.verifier(issuer: provider.issuer)
        let oversized = await verifier.loadKeys()
        #expect(!oversized.loaded)
        #expect(oversized.lastError?.contains("larger than 262144 bytes") == true, "\(oversized)")
        // Keys of types ares does not verify with are left out, and a set without one usable key loads empty.
        try provider.publish([["kty": "oct", "kid": "h", "k": "c2VjcmV0"], ["kty": "RSA", "kid": "short", "n": "AQAB", "e": "AQAB"]])
        try await Task.sleep(for: .milliseconds(250))
        let odd = await verifier.loadKeys()
        #expect(odd.loaded && odd.keyCount == 0, "\(odd)")
    }

    // MARK: Algorithms and claims nanoidp does not produce

    static func jwk(_ key: P256.Signing.PrivateKey, kid: String) -> [String: Any] {
        let raw = key.publicKey.rawRepresentation
        return ["kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "x": TokenForgery.base64URL(raw.prefix(32)), "y": TokenForgery.base64URL(raw.suffix(32))]
    }

    static func claims(issuer: String, subject: String? = "svc", extra: [String: Any] = [:]) -> [String: Any] {
        let now = Date().timeIntervalSince1970
        var claims: [String: Any] = ["iss": issuer, "aud": [audience, "other"], "exp": Int(now) + 300, "iat": Int(now), "nbf": Int(now)]
        if let subject { claims["sub"] = subject }
        for (name, value) in extra { claims[name] = value }
        return claims
    }

    @Test func es256EdDSAAndPS256TokensVerifyAndNestedRoleClaimsAreRead() async throws {
        let p256 = P256.Signing.PrivateKey()
        let ed25519 = Curve25519.Signing.PrivateKey()
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let primitives = try rsa.publicKey.getKeyPrimitives()
        let jwks: [[String: Any]] = [
            Self.jwk(p256, kid: "ec"),
            ["kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": TokenForgery.base64URL(ed25519.publicKey.rawRepresentation)],
            ["kty": "RSA", "kid": "rsa", "alg": "PS256", "n": TokenForgery.base64URL(primitives.modulus), "e": TokenForgery.base64URL(primitives.publicExponent)],
            ["kty": "oct", "kid": "hmac", "k": "c2VjcmV0"],
        ]
        let provider = try StaticIdentityProvider(jwks: jwks)
        let verifier = try Self.verifier(issuer: provider.issuer, roleClaim: "realm_access.roles")
        let claims = Self.claims(issuer: provider.issuer, extra: ["realm_access": ["roles": ["ares-researcher"]], "preferred_username": "the service"])

        let es = try TokenForgery.signed(header: ["alg": "ES256", "kid": "ec"], payload: claims) { try p256.signature(for: $0).rawRepresentation }
        let ed = try TokenForgery.signed(header: ["alg": "EdDSA", "kid": "ed"], payload: claims) { try ed25519.signature(for: $0) }
        let ps = try TokenForgery.signed(header: ["alg": "PS256", "kid": "rsa"], payload: claims) {
            try rsa.signature(for: SHA256.hash(data: $0), padding: .PSS).rawRepresentation
        }
        let expected = Principal(id: OIDCTokenVerifier.principalID(issuer: provider.issuer, subject: "svc"), name: "the service", role: .researcher)
        for token in [es, ed, ps] { #expect(await verifier.verify(token) == .authenticated(expected)) }

        // The PS256 key is not usable with RS256 (PKCS#1 v1.5), even with a valid RS256 signature.
        let rs = try TokenForgery.signed(header: ["alg": "RS256", "kid": "rsa"], payload: claims) {
            try rsa.signature(for: SHA256.hash(data: $0), padding: .insecurePKCS1v1_5).rawRepresentation
        }
        #expect(Self.reason(await verifier.verify(rs)).contains("not published for RS256"))
        // The symmetric key of the JWKS is never a verification key.
        let hs = TokenForgery.hmacSigned(TokenForgery.withHeader(es) { $0["kid"] = "hmac" }, secret: Data("secret".utf8))
        #expect(Self.reason(await verifier.verify(hs)).contains("HMAC-signed"))
        // The ES256 signature is checked: another key's signature fails.
        let wrongKey = try TokenForgery.signed(header: ["alg": "ES256", "kid": "ec"], payload: claims) { try P256.Signing.PrivateKey().signature(for: $0).rawRepresentation }
        #expect(Self.reason(await verifier.verify(wrongKey)) == "the token's signature does not verify")

        func signedES(_ payload: [String: Any]) throws -> String {
            try TokenForgery.signed(header: ["alg": "ES256", "kid": "ec"], payload: payload) { try p256.signature(for: $0).rawRepresentation }
        }
        let roles: [String: Any] = ["realm_access": ["roles": ["ares-researcher"]]]
        #expect(Self.reason(await verifier.verify(try signedES(Self.claims(issuer: provider.issuer, subject: nil, extra: roles)))).contains("no subject"))
        #expect(Self.reason(await verifier.verify(try signedES(Self.claims(issuer: provider.issuer, subject: "", extra: roles)))).contains("no subject"))
        let later = Date().timeIntervalSince1970 + 3600
        #expect(Self.reason(await verifier.verify(try signedES(Self.claims(issuer: provider.issuer, extra: roles.merging(["nbf": later]) { $1 })))).contains("not valid before"))
        var noExpiry = Self.claims(issuer: provider.issuer, extra: roles)
        noExpiry["exp"] = nil
        #expect(Self.reason(await verifier.verify(try signedES(noExpiry))).contains("no expiry"))
        #expect(Self.reason(await verifier.verify(try signedES(Self.claims(issuer: "https://other.example", extra: roles))))
                    .contains("not the issuer"))
        var emptyAudience = Self.claims(issuer: provider.issuer, extra: roles)
        emptyAudience["aud"] = [String]()
        #expect(Self.reason(await verifier.verify(try signedES(emptyAudience))).contains("audience"))
        // Claim values of the wrong type are no roles, and no crash.
        for odd: Any in [["roles": "ares-researcher"], ["roles": [1, true, NSNull()]], "ares-admin", 42] {
            let payload = Self.claims(issuer: provider.issuer, extra: ["realm_access": odd])
            #expect(Self.reason(await verifier.verify(try signedES(payload))).contains("grants no ares role") || odd is [String: String])
        }
    }

    @Test func aRemovedKeyIsRefusedAfterTheNextRefreshAndANewOneAcceptedWithoutRestart() async throws {
        let first = P256.Signing.PrivateKey(), second = P256.Signing.PrivateKey()
        let provider = try StaticIdentityProvider(jwks: [Self.jwk(first, kid: "k1")])
        let verifier = try Self.verifier(issuer: provider.issuer, roleClaim: "scope", roleMap: "ares=viewer", refetchInterval: .milliseconds(200))
        let claims = Self.claims(issuer: provider.issuer, extra: ["scope": "openid ares"])
        let old = try TokenForgery.signed(header: ["alg": "ES256", "kid": "k1"], payload: claims) { try first.signature(for: $0).rawRepresentation }
        let new = try TokenForgery.signed(header: ["alg": "ES256", "kid": "k2"], payload: claims) { try second.signature(for: $0).rawRepresentation }
        guard case .authenticated = await verifier.verify(old) else { Issue.record("the first key's token was refused"); return }
        try provider.publish([Self.jwk(second, kid: "k2")])
        try await Task.sleep(for: .milliseconds(300))
        guard case .authenticated = await verifier.verify(new) else { Issue.record("the new key's token was refused: \(Self.reason(await verifier.verify(new)))"); return }
        #expect(Self.reason(await verifier.verify(old)).contains("does not publish"))
    }

    @Test func theBackgroundRefresherFetchesExpiredKeysWithoutARequestWaiting() async throws {
        let first = P256.Signing.PrivateKey(), second = P256.Signing.PrivateKey()
        let provider = try StaticIdentityProvider(jwks: [Self.jwk(first, kid: "k1")])
        var settings = try OIDCSettings(issuer: try #require(URL(string: provider.issuer)), audience: Self.audience, roleClaim: "scope",
                                        roleMap: try RoleMap(parsing: "ares=viewer"), leewaySeconds: 0)
        settings.defaultKeyLifetime = .milliseconds(200)
        settings.keyLifetimeRange = .milliseconds(200)...(.seconds(60))
        settings.minimumRefetchInterval = .milliseconds(100)
        settings.requestTimeout = .milliseconds(400)
        let verifier = OIDCTokenVerifier(settings: settings, logger: Logger(label: "test"))
        #expect(await verifier.loadKeys().loaded)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await verifier.refresher.run() }
            try provider.publish([Self.jwk(first, kid: "k1"), Self.jwk(second, kid: "k2")])
            // Polled rather than slept: on a loaded machine the refresher's 200 ms rounds stretch.
            func eventually(_ condition: () -> Bool) async throws -> Bool {
                let deadline = ContinuousClock.now + .seconds(15)
                while ContinuousClock.now < deadline {
                    if condition() { return true }
                    try await Task.sleep(for: .milliseconds(50))
                }
                return condition()
            }
            // Fetched again by the refresher alone: no request has arrived yet.
            #expect(try await eventually { verifier.keyStatus.fetches >= 3 && verifier.keyStatus.keyCount == 2 }, "\(verifier.keyStatus)")
            #expect(verifier.keyStatus.keyCount == 2)
            // The provider goes away: the loaded keys keep verifying, without any wait.
            provider.stop()
            try await Task.sleep(for: .milliseconds(250))
            let claims = Self.claims(issuer: provider.issuer, extra: ["scope": "ares"])
            let token = try TokenForgery.signed(header: ["alg": "ES256", "kid": "k2"], payload: claims) { try second.signature(for: $0).rawRepresentation }
            let started = ContinuousClock.now
            guard case .authenticated = await verifier.verify(token) else { Issue.record("refused with cached keys: \(Self.reason(await verifier.verify(token)))"); return }
            // No wait for the unreachable provider: its fetches time out after 5 s, which is what
            // this bound tells apart (as loose as that allows, for a loaded machine).
            #expect(ContinuousClock.now - started < .seconds(4))
            #expect(try await eventually { verifier.keyStatus.lastError != nil }, "the refresher did not notice the provider is down")
            guard case .authenticated = await verifier.verify(token) else { Issue.record("refused with cached keys after a failed refresh"); return }
            group.cancelAll()
        }
    }

    @Test func aTokenSeenBeforeIsStillCheckedForItsSignatureAndItsTimeOnEveryRequest() async throws {
        let key = P256.Signing.PrivateKey()
        let provider = try StaticIdentityProvider(jwks: [Self.jwk(key, kid: "k")])
        let verifier = try Self.verifier(issuer: provider.issuer, roleClaim: "scope", roleMap: "ares=viewer")
        var claims = Self.claims(issuer: provider.issuer, extra: ["scope": "ares"])
        // Valid for a few seconds: long enough that a loaded machine still verifies it in time,
        // short enough to wait for its expiry below.
        let expiry = Int(Date().timeIntervalSince1970) + 6
        claims["exp"] = expiry
        let token = try TokenForgery.signed(header: ["alg": "ES256", "kid": "k"], payload: claims) { try key.signature(for: $0).rawRepresentation }
        guard case .authenticated = await verifier.verify(token) else { Issue.record("refused: \(Self.reason(await verifier.verify(token)))"); return }
        // The same header and payload with another signature: refused although the payload was read before.
        let parts = TokenForgery.parts(token)
        let resigned = parts[0] + "." + parts[1] + "." + TokenForgery.base64URL(try P256.Signing.PrivateKey().signature(for: Data((parts[0] + "." + parts[1]).utf8)).rawRepresentation)
        #expect(Self.reason(await verifier.verify(resigned)) == "the token's signature does not verify")
        // Until just past the expiry (seconds, as `exp` counts them).
        let remaining = Double(expiry) - Date().timeIntervalSince1970 + 1.1
        if remaining > 0 { try await Task.sleep(for: .milliseconds(Int(remaining * 1000))) }
        #expect(Self.reason(await verifier.verify(token)).contains("expired"))
    }

    // MARK: Pieces

    @Test func cacheControlMaxAgeIsHonouredWithinBounds() {
        let range: ClosedRange<Duration> = .seconds(30)...(.seconds(86_400))
        func lifetime(_ header: String?) -> Duration {
            CacheLifetime(cacheControl: header.map { [$0] } ?? []).clamped(default: .seconds(300), to: range)
        }
        #expect(lifetime(nil) == .seconds(300))
        #expect(lifetime("public, max-age=3600") == .seconds(3600))
        #expect(lifetime("max-age=5") == .seconds(30))
        #expect(lifetime("max-age=99999999999999999999999999") == .seconds(86_400))
        #expect(lifetime("no-store") == .seconds(30))
        #expect(lifetime("max-age=-4") == .seconds(300))
        #expect(lifetime("max-age=abc") == .seconds(300))
    }

    @Test func claimValuesKeepTheirJSONTypes() throws {
        let decoded = try JSONDecoder().decode([String: ClaimValue].self, from: Data(#"{"b":true,"n":1.5,"s":"x","a":["y",2],"o":{"k":null}}"#.utf8))
        #expect(decoded == ["b": .bool(true), "n": .number(1.5), "s": .string("x"), "a": .array([.string("y"), .number(2)]), "o": .object(["k": .null])])
        let claims = TokenClaims.decode(Data(#"{"sub":"s","jti":"skipped","realm_access":{"roles":["r"]},"https://x/roles":["z"]}"#.utf8), roleClaim: "realm_access.roles")
        #expect(claims == ["sub": .string("s"), "realm_access": .object(["roles": .array([.string("r")])])])
        #expect(RoleClaim.values(at: "realm_access.roles", in: claims ?? [:]) == ["r"])
        let literal = TokenClaims.decode(Data(#"{"https://example.com/roles":["z"]}"#.utf8), roleClaim: "https://example.com/roles") ?? [:]
        #expect(RoleClaim.values(at: "https://example.com/roles", in: literal) == ["z"])
        #expect(TokenClaims.decode(Data("[1]".utf8), roleClaim: "roles") == nil)
    }

    @Test func onlyThreeBase64URLSegmentsLookLikeAJWT() {
        #expect(OIDCTokenVerifier.looksLikeJWT("eyJh.eyJi.c2ln"))
        #expect(OIDCTokenVerifier.looksLikeJWT("eyJh.eyJi."), "an unsigned token is still a token (refused for alg none)")
        #expect(OIDCTokenVerifier.looksLikeJWT("eyJh..c2ln") == false)
        #expect(OIDCTokenVerifier.looksLikeJWT("ares_0123456789ab_" + String(repeating: "x", count: 43)) == false)
        #expect(OIDCTokenVerifier.looksLikeJWT("a.b.c.d") == false)
        #expect(OIDCTokenVerifier.looksLikeJWT("a+b.c.d") == false)
        #expect(OIDCTokenVerifier.looksLikeJWT("") == false)
    }

    @Test func settingsAreValidatedWithAReason() throws {
        let map = RoleMap(["a": .viewer])
        let url = try #require(URL(string: "https://idp.example/realms/ares"))
        #expect(throws: OIDCSettingsError.self) { try OIDCSettings(issuer: url, audience: "", roleMap: map) }
        #expect(throws: OIDCSettingsError.self) { try OIDCSettings(issuer: url, audience: "a", roleClaim: "realm..roles", roleMap: map) }
        #expect(throws: OIDCSettingsError.self) { try OIDCSettings(issuer: url, audience: "a", roleMap: map, leewaySeconds: 301) }
        #expect(throws: OIDCSettingsError.self) { try OIDCSettings(issuer: try #require(URL(string: "ftp://idp.example")), audience: "a", roleMap: map) }
        #expect(try OIDCSettings(issuer: url, audience: "a", roleMap: map).discoveryURL == "https://idp.example/realms/ares/.well-known/openid-configuration")
    }
}
