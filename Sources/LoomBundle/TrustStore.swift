import Foundation
import LoomCore
import GRDB

/// The keys a node trusts, the keys it knows are revoked, and the highest version it has seen of
/// each bundle, in the node's own database (`.loom/node.sqlite`, tables `trust_*`), where nothing a
/// bundle carries can reach.
public final class TrustStore: Sendable {
    private let db: DatabaseQueue

    public struct Entry: Sendable, Equatable {
        public var publisher: String
        public var key: PublicKey
        /// `added` (loom trust add) or the fingerprint of the key whose rotation introduced it.
        public var via: String
    }

    /// Opens the trust store of the node in `node` (its database is created if needed).
    public convenience init(node: String) throws(BundleError) {
        let dir = Paths.join(node, ".loom")
        try Folders.make(dir)
        try self.init(path: Paths.join(dir, "node.sqlite"))
    }

    public init(path: String) throws(BundleError) {
        do {
            var config = Configuration()
            config.busyMode = .timeout(5)
            db = try DatabaseQueue(path: path, configuration: config)
            try db.writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = WAL") }
            var migrator = DatabaseMigrator()
            migrator.registerMigration("trust.v1") { db in
                try db.execute(sql: """
                    CREATE TABLE trust_keys (publisher TEXT NOT NULL, key TEXT NOT NULL, via TEXT NOT NULL, added REAL NOT NULL,
                                             PRIMARY KEY (publisher, key));
                    CREATE TABLE trust_revoked (key TEXT PRIMARY KEY, publisher TEXT NOT NULL, statement TEXT NOT NULL);
                    CREATE TABLE trust_versions (name TEXT NOT NULL, publisher TEXT NOT NULL, version TEXT NOT NULL, bundle TEXT NOT NULL,
                                                 PRIMARY KEY (name, publisher));
                    """)
            }
            try migrator.migrate(db)
        } catch { throw BundleError(.io, "cannot open the trust store \(path): \(error)") }
    }

    private func run<T>(_ body: (Database) throws -> T) throws(BundleError) -> T {
        do { return try db.write(body) } catch let e as BundleError { throw e } catch { throw BundleError(.io, "the trust store of the node failed: \(error)") }
    }

    public func add(publisher: String, key: PublicKey, via: String = "added") throws(BundleError) {
        if try isRevoked(key) { throw BundleError(.revoked, "the key \(key.fingerprint) of '\(publisher)' was revoked; it cannot be trusted again") }
        try run { db in
            try db.execute(sql: "INSERT OR IGNORE INTO trust_keys (publisher, key, via, added) VALUES (?, ?, ?, ?)",
                           arguments: [publisher, key.text, via, Date().timeIntervalSince1970])
        }
    }

    /// Removes one key of a publisher, or all of them; returns how many went.
    @discardableResult
    public func remove(publisher: String, key: PublicKey? = nil) throws(BundleError) -> Int {
        try run { db in
            if let key { try db.execute(sql: "DELETE FROM trust_keys WHERE publisher = ? AND key = ?", arguments: [publisher, key.text]) }
            else { try db.execute(sql: "DELETE FROM trust_keys WHERE publisher = ?", arguments: [publisher]) }
            return db.changesCount
        }
    }

    public func entries() throws(BundleError) -> [Entry] {
        try run { db in
            try Row.fetchAll(db, sql: "SELECT publisher, key, via FROM trust_keys ORDER BY publisher, added").compactMap { row in
                guard let key = try? PublicKey(text: row[1]) else { return nil }
                return Entry(publisher: row[0], key: key, via: row[2])
            }
        }
    }

    public func keys(of publisher: String) throws(BundleError) -> Set<PublicKey> {
        Set(try entries().filter { $0.publisher == publisher }.map(\.key))
    }

    public func isRevoked(_ key: PublicKey) throws(BundleError) -> Bool {
        try run { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM trust_revoked WHERE key = ?", arguments: [key.text]) ?? false }
    }

    /// Records a key statement after checking its signatures: a revocation revokes the key (and
    /// removes it from the trusted keys); a rotation from a trusted key trusts the new key.
    /// Returns what it did, for the user.
    @discardableResult
    public func apply(_ statement: KeyStatement) throws(BundleError) -> String {
        try statement.verify()
        switch statement.kind {
        case .revocation:
            try run { db in
                try db.execute(sql: "INSERT OR IGNORE INTO trust_revoked (key, publisher, statement) VALUES (?, ?, ?)",
                               arguments: [statement.key.text, statement.node, statement.text])
                try db.execute(sql: "DELETE FROM trust_keys WHERE key = ?", arguments: [statement.key.text])
            }
            return "revoked \(statement.node)'s key \(statement.key.fingerprint)"
        case .rotation:
            guard let newKey = statement.newKey else { return "nothing" }
            guard try keys(of: statement.node).contains(statement.key) else {
                return "ignored: \(statement.node)'s key \(statement.key.fingerprint) is not trusted here"
            }
            let revoked = try isRevoked(statement.key)
            let newRevoked = try isRevoked(newKey)
            if revoked || newRevoked { throw BundleError(.revoked, "the rotation of \(statement.node)'s key involves a revoked key") }
            try add(publisher: statement.node, key: newKey, via: statement.key.fingerprint)
            return "trusted \(statement.node)'s new key \(newKey.fingerprint) through its old key \(statement.key.fingerprint)"
        }
    }

    /// Whether `key` may sign for `publisher`: trusted directly, or reached from a trusted key of
    /// the publisher through rotation statements (each signed by both keys), and never revoked,
    /// neither here nor by a revocation among `statements` (which this does not record).
    /// Returns the rotations that introduce new keys, to record at install.
    public func check(publisher: String, key: PublicKey, statements: [KeyStatement]) throws(BundleError) -> [KeyStatement] {
        var revokedHere: Set<PublicKey> = []
        for s in statements where s.kind == .revocation {
            try s.verify()
            revokedHere.insert(s.key)
        }
        func revoked(_ k: PublicKey) throws(BundleError) -> Bool {
            if revokedHere.contains(k) { return true }
            return try isRevoked(k)
        }
        if revokedHere.contains(key) {
            throw BundleError(.revoked, "the key \(key.fingerprint) that signed this bundle of '\(publisher)' is revoked by a statement the bundle carries; the bundle is refused")
        }
        if try isRevoked(key) { throw BundleError(.revoked, "the key \(key.fingerprint) of '\(publisher)' was revoked; the bundle is refused") }
        let known = try keys(of: publisher)
        var trusted: Set<PublicKey> = []
        for k in known {
            if try !revoked(k) { trusted.insert(k) }
        }
        if trusted.contains(key) { return [] }
        var used: [KeyStatement] = []
        var grew = true
        while grew && !trusted.contains(key) {
            grew = false
            for s in statements where s.kind == .rotation && s.node == publisher && trusted.contains(s.key) {
                guard let newKey = s.newKey, !trusted.contains(newKey) else { continue }
                try s.verify()
                if try revoked(newKey) { continue }
                trusted.insert(newKey)
                used.append(s)
                grew = true
            }
        }
        guard trusted.contains(key) else {
            throw BundleError(.untrusted, "the bundle is signed by '\(publisher)' with key \(key.fingerprint), which this node does not trust"
                + (known.isEmpty ? "; trust it with `loom trust add NODE \(publisher) \(key.text)`" : " (it trusts \(known.map(\.fingerprint).sorted().joined(separator: ", ")))"))
        }
        return used
    }

    /// What an install records, all in one transaction: the revocations its bundle carries, the
    /// keys its rotations introduce, and the version seen. `switchOver` runs last inside the
    /// transaction (the installer switches its link there): if it throws, nothing is recorded.
    func recordInstall(revocations: [KeyStatement], rotations: [KeyStatement],
                       version: (name: String, publisher: String, version: String, bundle: String)?,
                       switchOver: () throws(BundleError) -> Void) throws(BundleError) {
        for s in revocations + rotations { try s.verify() }
        try run { db in
            for s in revocations where s.kind == .revocation {
                try db.execute(sql: "INSERT OR IGNORE INTO trust_revoked (key, publisher, statement) VALUES (?, ?, ?)",
                               arguments: [s.key.text, s.node, s.text])
                try db.execute(sql: "DELETE FROM trust_keys WHERE key = ?", arguments: [s.key.text])
            }
            for s in rotations where s.kind == .rotation {
                guard let newKey = s.newKey else { continue }
                let revoked = try Bool.fetchOne(db, sql: "SELECT 1 FROM trust_revoked WHERE key IN (?, ?)", arguments: [s.key.text, newKey.text]) ?? false
                if revoked { throw BundleError(.revoked, "the rotation of \(s.node)'s key \(s.key.fingerprint) involves a revoked key") }
                try db.execute(sql: "INSERT OR IGNORE INTO trust_keys (publisher, key, via, added) VALUES (?, ?, ?, ?)",
                               arguments: [s.node, newKey.text, s.key.fingerprint, Date().timeIntervalSince1970])
            }
            if let version {
                try db.execute(sql: "INSERT OR REPLACE INTO trust_versions (name, publisher, version, bundle) VALUES (?, ?, ?, ?)",
                               arguments: [version.name, version.publisher, version.version, version.bundle])
            }
            try switchOver()
        }
    }

    public func highestVersion(name: String, publisher: String) throws(BundleError) -> (String, String)? {
        try run { db in
            try Row.fetchOne(db, sql: "SELECT version, bundle FROM trust_versions WHERE name = ? AND publisher = ?", arguments: [name, publisher])
                .map { ($0[0], $0[1]) }
        }
    }

    public func recordVersion(name: String, publisher: String, version: String, bundle: String) throws(BundleError) {
        try run { db in
            try db.execute(sql: "INSERT OR REPLACE INTO trust_versions (name, publisher, version, bundle) VALUES (?, ?, ?, ?)",
                           arguments: [name, publisher, version, bundle])
        }
    }
}
