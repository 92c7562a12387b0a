import Foundation
import NIOCore
import NIOSSL
import PostgresNIO
import Storage

/// What went wrong with the database, in one line that names the problem and what to do about
/// it: never a stack trace, never a password, never a query's values (PSQLError's own
/// description is deliberately generic; this type reads its fields instead).
public struct PostgresStorageError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// Nothing answers at the address (refused, timed out, unknown host), or the server is
        /// starting or out of connections: worth retrying.
        case unreachable
        /// The password (or the authentication method) was refused.
        case authentication
        /// The server answers, but the database named in the URL does not exist.
        case missingDatabase
        /// The user may log in but lacks a privilege ares needs (connect, create tables, write).
        case missingPrivilege
        /// TLS could not be set up as `sslmode` asks.
        case tls
        /// The database's schema is newer than this binary knows.
        case schemaTooNew
        /// The connection was lost while working: worth retrying.
        case connectionLost
        /// A stored row cannot be read as ares wrote it (edited outside ares).
        case damaged
        /// Any other error the server reported.
        case server
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// Whether waiting and trying again may help (start-up retries these with backoff).
    public var isRetryable: Bool { kind == .unreachable || kind == .connectionLost }

    /// The SQLSTATE of a server error, if `error` is one.
    static func sqlState(of error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// Names `error` for a person. `EventStoreError`s pass through unchanged (they are the
    /// event store's own answers, such as a version conflict).
    public static func describing(_ error: any Error, settings: DatabaseSettings) -> any Error {
        if error is EventStoreError || error is PostgresStorageError || error is CancellationError { return error }
        return classify(error, settings: settings)
    }

    static func classify(_ error: any Error, settings: DatabaseSettings) -> PostgresStorageError {
        if let known = error as? PostgresStorageError { return known }
        let address = "\(settings.host):\(settings.port)"
        // The pool's own error type lives in PostgresNIO's underscored module (not API): known by name.
        if String(describing: type(of: error)) == "ConnectionPoolError" {
            return .init(.unreachable, "cannot reach the database at \(address): no connection could be made for a while")
        }
        if error is PostgresDecodingError {
            return .init(.damaged, "a stored row cannot be read as ares wrote it: the database was changed outside ares")
        }
        guard let psql = error as? PSQLError else {
            return .init(.server, "database error: \(String(describing: error).prefix(300))")
        }
        switch psql.code {
        case .server:
            let state = psql.serverInfo?[.sqlState] ?? "?????"
            let serverMessage = psql.serverInfo?[.message] ?? "no message"
            switch state {
            case "28P01":
                return .init(.authentication, "the database at \(address) refused the password of user '\(settings.user)' (\(serverMessage)): "
                    + "check the file named by \(DatabaseSettings.passwordFileVariable) or \(DatabaseSettings.passwordVariable)")
            case "28000":
                return .init(.authentication, "the database at \(address) refused user '\(settings.user)': \(serverMessage)")
            case "3D000":
                return .init(.missingDatabase, "the database '\(settings.database)' does not exist at \(address): create it "
                    + "(CREATE DATABASE \(settings.database) OWNER \(settings.user)) or fix the URL")
            case "42501":
                return .init(.missingPrivilege, "user '\(settings.user)' lacks a privilege ares needs in database '\(settings.database)': \(serverMessage)")
            case "57P03", "53300":
                return .init(.unreachable, "the database at \(address) cannot take a connection now: \(serverMessage)")
            case "57P01", "57P02":
                return .init(.connectionLost, "the database at \(address) is shutting down: \(serverMessage)")
            case _ where state.hasPrefix("08"):
                return .init(.unreachable, "the connection to the database at \(address) failed: \(serverMessage)")
            default:
                return .init(.server, "the database answered SQLSTATE \(state): \(serverMessage)")
            }
        case .authMechanismRequiresPassword:
            return .init(.authentication, "the database at \(address) asks user '\(settings.user)' for a password and none is set: put it in a "
                + "file named by \(DatabaseSettings.passwordFileVariable) (or in \(DatabaseSettings.passwordVariable))")
        case .saslError, .unsupportedAuthMechanism:
            return .init(.authentication, "authentication of user '\(settings.user)' with the database at \(address) failed (\(psql.code))")
        case .sslUnsupported:
            return .init(.tls, "the database at \(address) does not offer TLS, and sslmode=\(settings.tlsMode.rawValue) requires it")
        case .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest:
            return .init(.tls, "TLS with the database at \(address) could not be set up (\(psql.code))")
        case .connectionError:
            if let underlying = psql.underlying, underlying is NIOSSLError || underlying is BoringSSLError {
                return .init(.tls, "TLS with the database at \(address) failed (sslmode=\(settings.tlsMode.rawValue)): \(underlying)")
            }
            return .init(.unreachable, "cannot reach the database at \(address): \(Self.reason(psql.underlying))")
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed, .queryCancelled:
            return .init(.connectionLost, "the connection to the database at \(address) was lost (\(psql.code))")
        default:
            return .init(.server, "database error at \(address): \(psql.code)")
        }
    }

    /// The short cause of a failed connection: "connection refused", "timed out", ...
    private static func reason(_ error: (any Error)?) -> String {
        guard let error else { return "no answer" }
        if let connection = error as? NIOConnectionError {
            if connection.dnsAAAAError != nil || connection.dnsAError != nil, connection.connectionErrors.isEmpty {
                return "the host name does not resolve"
            }
            if let first = connection.connectionErrors.first { return reason(first.error) }
        }
        if let io = error as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED: return "connection refused (is PostgreSQL running and listening there?)"
            case ETIMEDOUT: return "timed out"
            case EHOSTUNREACH, ENETUNREACH: return "no route to the host"
            default: return String(cString: strerror(io.errnoCode))
            }
        }
        if error is ChannelError { return "\(error)" }
        return String(describing: error).prefix(200).description
    }
}
