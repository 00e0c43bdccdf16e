import HubPluginKit

/// The bus's tables in one PostgreSQL schema. Created under an advisory lock, so nodes that
/// start together do not race; a database written by a newer plugin is refused, naming both
/// versions.
enum Schema {
    /// 1: records (one order's events per append, EventRecord encoding), orders, idempotency, kv, head.
    static let version = 1

    static func quoted(_ name: String) -> String { "\"" + name.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\"" }

    /// Values and records are written far more often than read back: stored uncompressed, no
    /// commit spends CPU on pglz (a 2-3 KB value was compressed on every write). Only an
    /// optimisation: done once (when not yet so), with a short lock timeout (it needs an
    /// exclusive lock for a moment), and skipped without failing the start when it cannot be.
    private static func preferUncompressed(_ connection: Connection, _ name: String) throws(SQLError) {
        let columns = [("kv", "value"), ("records", "events")]
        for (table, column) in columns {
            let storage = try connection.query(
                "SELECT attstorage::text FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2", [.text("\(name).\(table)"), .text(column)])
            guard storage.count == 1, storage.text(0, 0) != "e" else { continue }
            try? connection.execute("SET lock_timeout = '2s'; ALTER TABLE \(name).\(table) ALTER COLUMN \(column) SET STORAGE EXTERNAL")
            try? connection.execute("RESET lock_timeout")
        }
    }

    static func prepare(_ connection: Connection, schema: String, target: String) throws(PluginError) {
        do throws(SQLError) {
            try connection.execute("SELECT pg_advisory_lock(7218311)")
            defer { try? connection.execute("SELECT pg_advisory_unlock(7218311)") }
            let name = quoted(schema)
            try connection.execute(
                """
                CREATE SCHEMA IF NOT EXISTS \(name);
                CREATE TABLE IF NOT EXISTS \(name).meta(key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
                INSERT INTO \(name).meta(key, value) VALUES ('schema_version', '\(version)') ON CONFLICT DO NOTHING;
                """)
            let found = try connection.query("SELECT value FROM \(name).meta WHERE key = 'schema_version'")
            let stored = found.count > 0 ? Int(found.text(0, 0)) ?? 0 : 0
            if stored > version {
                throw SQLError(state: "ORDHB", message: "schema \(schema) at \(target) has bus schema version \(stored); this plugin "
                    + "(orderhub.bus.postgres) understands up to \(version): run a newer orderhub on every node", connectionLost: false)
            }
            try connection.execute(
                """
                CREATE TABLE IF NOT EXISTS \(name).head(id int PRIMARY KEY CHECK (id = 1), last_offset bigint NOT NULL);
                INSERT INTO \(name).head(id, last_offset) VALUES (1, 0) ON CONFLICT DO NOTHING;
                CREATE TABLE IF NOT EXISTS \(name).records(
                    off bigint PRIMARY KEY, subject text COLLATE "C" NOT NULL,
                    seq_first bigint NOT NULL, seq_last bigint NOT NULL, events bytea NOT NULL);
                CREATE INDEX IF NOT EXISTS records_by_subject ON \(name).records(subject, off);
                CREATE TABLE IF NOT EXISTS \(name).orders(
                    id text COLLATE "C" PRIMARY KEY, state text NOT NULL, seq bigint NOT NULL, updated_ns bigint NOT NULL);
                CREATE INDEX IF NOT EXISTS orders_by_state_age ON \(name).orders(state, updated_ns);
                CREATE TABLE IF NOT EXISTS \(name).idempotency(
                    key text COLLATE "C" PRIMARY KEY, subject text NOT NULL, fingerprint text NOT NULL, response bytea NOT NULL);
                CREATE TABLE IF NOT EXISTS \(name).kv(
                    ns text COLLATE "C" NOT NULL, key text COLLATE "C" NOT NULL, value bytea NOT NULL, rev bigint NOT NULL,
                    PRIMARY KEY (ns, key));
                """)
            try preferUncompressed(connection, name)
        } catch {
            if error.state == "ORDHB" { throw .invalid(error.message) }
            throw error.pluginError
        }
    }
}
