package org.pwgate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.Psql;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.TempDirs;

/**
 * pg_dump and pg_restore, the real clients, through pwgate with the restriction on: a backup
 * taken through pwgate is the one taken directly, and a restore through pwgate gives back the
 * same database. The data is chosen to catch a relay that loses or changes bytes: every byte
 * value in bytea, text with the characters COPY escapes, NULLs, a large object (pg_dump and
 * pg_restore move those with the FunctionCall message), rows past several 64 KiB reads. The
 * embedded PostgreSQL is 15 because pg_dump refuses a server newer than itself and CI installs
 * Debian 12's client 15.
 */
class DumpRestoreIT {
    static PwgateHarness pwgate;
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        Psql.assumeInstalled("psql", "pg_dump", "pg_restore");
        pwgate = PwgateHarness.startYaml(PwgateHarness.baseYaml(true).replace("version: \"17\"", "version: \"15\""));
        dir = TempDirs.create("pwgate-dump");
        try (Connection c = pwgate.admin(); Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS dump_src");
            s.execute("DROP DATABASE IF EXISTS dump_dst");
            s.execute("CREATE DATABASE dump_src");
        }
        try (Connection c = pwgate.adminTo("dump_src"); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE bytes (id int PRIMARY KEY, b bytea)");
            s.execute("INSERT INTO bytes SELECT i, (SELECT string_agg(set_byte('\\x00'::bytea, 0, (j + i) % 256), ''::bytea)"
                    + " FROM generate_series(0, 255) j) FROM generate_series(1, 2000) i");
            s.execute("CREATE TABLE texts (id bigserial PRIMARY KEY, t text, n numeric, at timestamptz)");
            s.execute("INSERT INTO texts (t, n, at) SELECT CASE WHEN i % 97 = 0 THEN NULL ELSE"
                    + " 'row ' || i || E'\\ttab\\nnewline\\\\backslash\\r\\u00e9\\u4e2d\\U0001F600 ' || repeat('x', i % 300) END,"
                    + " i / 7.0, timestamptz '2026-01-01 00:00+00' + i * interval '1 minute' FROM generate_series(1, 30000) i");
            s.execute("CREATE VIEW long_texts AS SELECT id, t FROM texts WHERE length(t) > 200");
            s.execute("CREATE FUNCTION twice(x int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT x * 2 $$");
            s.execute("COMMENT ON TABLE texts IS 'a comment with ''quotes'' and ; semicolons'");
            s.execute("SELECT lo_from_bytea(424242, convert_to(repeat('large object bytes ', 5000), 'UTF8'))");
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (pwgate != null) {
            pwgate.close();
        }
        if (dir != null) {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** Runs one of PostgreSQL's client programs as the superuser against {@code port}. */
    static String run(int port, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(args));
        cmd.addAll(1, List.of("-h", "127.0.0.1", "-p", Integer.toString(port), "-U", PwgateHarness.ADMIN));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("PGPASSWORD", PwgateHarness.ADMIN_PASSWORD);
        pb.environment().put("PGCONNECT_TIMEOUT", "10");
        File err = dir.resolve("stderr.txt").toFile();
        pb.redirectError(err);
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", args) + " did not finish in 120 s");
        }
        String stderr = Files.readString(err.toPath());
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + stderr);
        return stderr;
    }

    /** A plain-format dump without pg_dump's per-run \restrict key (random, since 15.14). */
    static String plain(Path file) throws IOException {
        return Files.readAllLines(file, StandardCharsets.UTF_8).stream()
                .filter(l -> !l.startsWith("\\restrict ") && !l.startsWith("\\unrestrict "))
                .collect(Collectors.joining("\n"));
    }

    @Test
    void aDumpThroughPwgateIsTheDumpTakenDirectlyAndRestoresTheSameDatabase() throws Exception {
        int proxy = pwgate.port();
        int direct = pwgate.backend().getPort();
        Path viaPlain = dir.resolve("via.sql");
        Path directPlain = dir.resolve("direct.sql");
        run(proxy, "pg_dump", "-d", "dump_src", "-f", viaPlain.toString());
        run(direct, "pg_dump", "-d", "dump_src", "-f", directPlain.toString());
        String expected = plain(directPlain);
        assertTrue(expected.contains("lo_create('424242')") && expected.contains("lowrite(0, '\\x6c61726765"),
                "the large object is in the dump");
        assertTrue(expected.length() > 5_000_000, expected.length() + " characters: the data is in the dump");
        assertEquals(expected, plain(viaPlain));

        // Custom format, restored in parallel through pwgate into a new database.
        Path custom = dir.resolve("src.dump");
        run(proxy, "pg_dump", "-Fc", "-d", "dump_src", "-f", custom.toString());
        run(proxy, "psql", "-X", "-d", "postgres", "-c", "CREATE DATABASE dump_dst");
        run(proxy, "pg_restore", "-j", "2", "--exit-on-error", "-d", "dump_dst", custom.toString());

        Path restored = dir.resolve("restored.sql");
        run(direct, "pg_dump", "-d", "dump_dst", "-f", restored.toString());
        assertEquals(expected.replace("dump_src", "dump_dst"), plain(restored).replace("dump_src", "dump_dst"));
    }
}
