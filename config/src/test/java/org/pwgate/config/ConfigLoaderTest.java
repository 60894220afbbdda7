package org.pwgate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.pwgate.config.ConfigException.ConfigError;
import org.pwgate.config.PwgateConfig.AuthSource;
import org.pwgate.config.PwgateConfig.BackendTlsMode;
import org.pwgate.config.PwgateConfig.ClientCertVerify;
import org.pwgate.config.PwgateConfig.ClientTlsMode;
import org.pwgate.config.PwgateConfig.LogFormat;

class ConfigLoaderTest {
    @TempDir
    Path dir;

    private static final String MINIMAL = """
            listen: { host: 127.0.0.1, port: 6432 }
            backend: { host: db.local }
            auth: { source: auth_query, auth_user: pwgate_auth }
            """;

    private PwgateConfig parse(String yaml) throws ConfigException {
        return ConfigLoader.parse(yaml, dir, Optional.empty());
    }

    private List<ConfigError> errors(String yaml) {
        return assertThrows(ConfigException.class, () -> parse(yaml)).errors();
    }

    /** Asserts that exactly one error names {@code key} at {@code line}, and returns it. */
    private static ConfigError single(List<ConfigError> errors, String key, int line) {
        List<ConfigError> hits = errors.stream().filter(e -> e.key().equals(key)).toList();
        assertEquals(1, hits.size(), () -> "errors for " + key + ": " + errors);
        assertEquals(line, hits.get(0).line(), () -> "line of " + hits.get(0));
        return hits.get(0);
    }

    @Test
    void minimalConfigGetsEveryDefault() throws Exception {
        PwgateConfig c = parse(MINIMAL);
        assertEquals("db.local", c.backend().host());
        assertEquals(5432, c.backend().port());
        assertEquals(Duration.ofSeconds(5), c.backend().connectTimeout());
        assertEquals(BackendTlsMode.DISABLE, c.backend().tls());
        assertTrue(c.backend().embedded().isEmpty());
        assertEquals(AuthSource.AUTH_QUERY, c.auth().source());
        assertEquals(Optional.of("pwgate_auth"), c.auth().authUser());
        assertTrue(c.auth().authQuery().isEmpty());
        assertEquals(1000, c.limits().maxClientConnections());
        assertEquals(Duration.ofSeconds(15), c.limits().authTimeout());
        assertEquals(64L * 1024 * 1024, c.limits().maxMessageSize());
        assertEquals(Duration.ofSeconds(30), c.limits().drainTime());
        assertEquals(new PwgateConfig.Throttle(5, Duration.ofSeconds(60), Duration.ofSeconds(1)), c.limits().throttle());
        assertFalse(c.parameters().restrictPasswordCommands());
        assertEquals("rds_password", c.gateRole());
        assertEquals(List.of("rdsadmin"), c.protectedRoles());
        assertTrue(c.bootstrap().isEmpty());
        assertEquals(PwgateConfig.Tls.disabled(), c.tls());
        assertTrue(c.admin().isEmpty());
        assertEquals(LogFormat.TEXT, c.logging().format());
        assertEquals(Map.of("root", "info", "pwgate.audit", "info"), c.logging().levels());
        assertTrue(c.source().isEmpty());
    }

    @Test
    void listenKeysDefaultWhenTheSectionIsEmpty() throws Exception {
        PwgateConfig c = parse(MINIMAL.replace("listen: { host: 127.0.0.1, port: 6432 }", "listen: {}"));
        assertEquals(new PwgateConfig.Listen("127.0.0.1", 6432, 0), c.listen());
    }

    @Test
    void listenThreadsAreRead() throws Exception {
        PwgateConfig c = parse(MINIMAL.replace("listen: { host: 127.0.0.1, port: 6432 }", "listen: { port: 6432, threads: 3 }"));
        assertEquals(3, c.listen().threads());
    }

    @Test
    void fullConfigIsReadIntoTheRecords() throws Exception {
        Files.writeString(dir.resolve("server.crt"), "x");
        Files.writeString(dir.resolve("server.key"), "x");
        Files.writeString(dir.resolve("ca.crt"), "x");
        PwgateConfig c = parse("""
                listen: { host: 0.0.0.0, port: 0 }
                backend:
                  host: 10.0.0.5
                  port: 5433
                  connect_timeout: 750ms
                  tls: verify-full
                  tls_ca: ca.crt
                auth:
                  source: auth_query
                  auth_user: "Auth User"
                  auth_password: "md5d1ac1c50e2ddec7c00d2d291ab25c372"
                  auth_query: "SELECT * FROM pwgate.lookup($1)"
                  auth_database: admin
                limits:
                  max_client_connections: 20
                  auth_timeout: 2m
                  max_message_size: 1048576
                  drain_time: 0s
                  failed_login: { limit: 3, window: 1h, delay: 250ms }
                parameters:
                  rds.restrict_password_commands: "On"
                gate_role: Pw_Gate
                protected_roles: [rdsadmin, "Boss"]
                bootstrap:
                  master_user: postgres
                  master_password: plain-text
                  users:
                    - name: app
                      password: "md5e08b2c8712c081b1c1f342567fb32565"
                      attributes: "LOGIN CONNECTION LIMIT 5 VALID UNTIL '2030-01-01 00:00:00+00'"
                      member_of: [readers]
                    - { name: reporter }
                tls: { mode: require, cert: server.crt, key: ./server.key, client_ca: ca.crt, verify: ca }
                admin: { port: 0 }
                logging:
                  format: JSON
                  levels: { org.pwgate.proxy: debug, root: WARN }
                  audit_file: logs/audit.log
                """);
        assertEquals(new PwgateConfig.Listen("0.0.0.0", 0), c.listen());
        assertEquals(5433, c.backend().port());
        assertEquals(Duration.ofMillis(750), c.backend().connectTimeout());
        assertEquals(BackendTlsMode.VERIFY_FULL, c.backend().tls());
        assertEquals(Optional.of(dir.resolve("ca.crt")), c.backend().tlsCaFile());
        assertEquals(Optional.of("Auth User"), c.auth().authUser());
        assertTrue(c.auth().authPassword().orElseThrow().isMd5Hash());
        assertEquals(Optional.of("SELECT * FROM pwgate.lookup($1)"), c.auth().authQuery());
        assertEquals(Optional.of("admin"), c.auth().authDatabase());
        assertEquals(20, c.limits().maxClientConnections());
        assertEquals(Duration.ofMinutes(2), c.limits().authTimeout());
        assertEquals(1048576L, c.limits().maxMessageSize());
        assertEquals(Duration.ZERO, c.limits().drainTime());
        assertEquals(new PwgateConfig.Throttle(3, Duration.ofHours(1), Duration.ofMillis(250)), c.limits().throttle());
        assertTrue(c.parameters().restrictPasswordCommands());
        assertEquals(Map.of("rds.restrict_password_commands", "On"), c.parameters().raw());
        assertEquals("Pw_Gate", c.gateRole(), "role names are kept as written (case-sensitive)");
        assertEquals(List.of("rdsadmin", "Boss"), c.protectedRoles());
        PwgateConfig.Bootstrap b = c.bootstrap().orElseThrow();
        assertEquals(Optional.of("postgres"), b.masterUser());
        assertEquals("plain-text", b.masterPassword().orElseThrow().reveal());
        assertEquals(2, b.users().size());
        assertEquals("LOGIN CONNECTION LIMIT 5 VALID UNTIL '2030-01-01 00:00:00+00'", b.users().get(0).attributes());
        assertEquals(List.of("readers"), b.users().get(0).memberOf());
        assertEquals(new PwgateConfig.BootstrapUser("reporter", Optional.empty(), "", List.of()), b.users().get(1));
        assertEquals(ClientTlsMode.REQUIRE, c.tls().mode());
        assertEquals(Optional.of(dir.resolve("server.key")), c.tls().key());
        assertEquals(ClientCertVerify.CA, c.tls().verify());
        assertEquals(new PwgateConfig.Admin("127.0.0.1", 0), c.admin().orElseThrow());
        assertEquals(LogFormat.JSON, c.logging().format());
        assertEquals("debug", c.logging().levels().get("org.pwgate.proxy"));
        assertEquals("warn", c.logging().levels().get("root"));
        assertEquals("info", c.logging().levels().get("pwgate.audit"), "unlisted loggers keep their default");
        assertEquals(Optional.of(dir.resolve("logs/audit.log")), c.logging().auditFile());
    }

    @Test
    void embeddedBackendAcceptsIntOrStringVersion() throws Exception {
        String yaml = MINIMAL.replace("backend: { host: db.local }", "backend: { embedded: { version: %s, data_directory: pg } }");
        PwgateConfig a = parse(yaml.formatted("17"));
        PwgateConfig b = parse(yaml.formatted("\"15\""));
        assertEquals("17", a.backend().embedded().orElseThrow().version());
        assertEquals("15", b.backend().embedded().orElseThrow().version());
        assertEquals(Optional.of(dir.resolve("pg")), a.backend().embedded().orElseThrow().dataDirectory());
        assertEquals(0, a.backend().port(), "the embedded server's port is known only once it runs");
        PwgateConfig dflt = parse(MINIMAL.replace("backend: { host: db.local }", "backend: { embedded: {} }"));
        assertEquals(new PwgateConfig.Embedded("17", Optional.empty()), dflt.backend().embedded().orElseThrow());
    }

    @Test
    void authFileSourceResolvesItsFileAgainstTheConfigFolder() throws Exception {
        Files.writeString(dir.resolve("users.txt"), "\"a\" \"b\"\n");
        PwgateConfig c = parse(MINIMAL.replace("auth: { source: auth_query, auth_user: pwgate_auth }",
                "auth: { source: auth_file, auth_file: users.txt }"));
        assertEquals(AuthSource.AUTH_FILE, c.auth().source());
        assertEquals(Optional.of(dir.resolve("users.txt")), c.auth().authFile());
    }

    @Test
    void absolutePathsStayAsGiven() throws Exception {
        Path elsewhere = Files.createTempFile("pwgate-users", ".txt");
        try {
            PwgateConfig c = parse(MINIMAL.replace("auth: { source: auth_query, auth_user: pwgate_auth }",
                    "auth: { source: auth_file, auth_file: '" + elsewhere + "' }"));
            assertEquals(Optional.of(elsewhere), c.auth().authFile());
        } finally {
            Files.delete(elsewhere);
        }
    }

    @Test
    void loadResolvesAgainstTheFilesFolderAndRecordsTheSource() throws Exception {
        Path sub = Files.createDirectories(dir.resolve("etc"));
        Files.writeString(sub.resolve("userlist.txt"), "");
        Path file = sub.resolve("pwgate.yaml");
        Files.writeString(file, MINIMAL.replace("auth: { source: auth_query, auth_user: pwgate_auth }",
                "auth: { source: auth_file, auth_file: ./userlist.txt }"), StandardCharsets.UTF_8);
        PwgateConfig c = ConfigLoader.load(file);
        assertEquals(Optional.of(sub.resolve("userlist.txt")), c.auth().authFile());
        assertEquals(Optional.of(file.toAbsolutePath()), c.source());
    }

    @Test
    void invalidUtf8FileIsRefused() throws IOException {
        Path file = dir.resolve("bad.yaml");
        Files.write(file, new byte[] {'a', ':', ' ', (byte) 0xC3, (byte) 0x28, '\n'});
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file));
        assertTrue(e.getMessage().contains("not valid UTF-8"), e.getMessage());
    }

    // ---- errors: each names its key and line ----

    @Test
    void unknownKeysAreErrorsAtTheirLine() {
        List<ConfigError> errs = errors(MINIMAL + """
                limits:
                  max_conections: 10
                colour: blue
                """);
        assertTrue(single(errs, "limits.max_conections", 5).message().contains("max_client_connections"));
        single(errs, "colour", 6);
    }

    @Test
    void allErrorsAreCollectedNotJustTheFirst() {
        List<ConfigError> errs = errors("""
                listen: { port: 70000 }
                backend: { host: db, port: zero }
                auth: { source: ldap }
                limits: { auth_timeout: 15 }
                """);
        single(errs, "listen.port", 1);
        single(errs, "backend.port", 2);
        single(errs, "auth.source", 3);
        single(errs, "limits.auth_timeout", 4);
        assertEquals(4, errs.size(), errs::toString);
    }

    @Test
    void missingRequiredKeys() {
        List<ConfigError> errs = errors("gate_role: x\n");
        single(errs, "listen", 1);
        single(errs, "backend", 1);
        single(errs, "auth", 1);
        List<ConfigError> inAuth = errors("""
                listen: {}
                backend: { host: db }
                auth:
                  auth_password: secret
                """);
        single(inAuth, "auth.source", 3);
        List<ConfigError> noUser = errors("""
                listen: {}
                backend: { host: db }
                auth:
                  source: auth_query
                """);
        single(noUser, "auth.auth_user", 3);
    }

    @Test
    void wrongTypes() {
        List<ConfigError> errs = errors("""
                listen: { host: [a, b], port: "6432" }
                backend: { host: db, connect_timeout: { s: 5 } }
                auth: { source: auth_query, auth_user: u }
                protected_roles: rdsadmin
                limits: { max_client_connections: 1.5 }
                gate_role:
                """);
        single(errs, "listen.host", 1);
        assertTrue(single(errs, "listen.port", 1).message().contains("integer"));
        single(errs, "backend.connect_timeout", 2);
        assertTrue(single(errs, "protected_roles", 4).message().contains("list"));
        single(errs, "limits.max_client_connections", 5);
        assertTrue(single(errs, "gate_role", 6).message().contains("no value"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "limits: { max_client_connections: 0 }|limits.max_client_connections",
            "limits: { max_client_connections: 100001 }|limits.max_client_connections",
            "limits: { max_message_size: 1023 }|limits.max_message_size",
            "limits: { max_message_size: 2GiB }|limits.max_message_size",
            "limits: { auth_timeout: 0s }|limits.auth_timeout",
            "limits: { failed_login: { limit: 0 } }|limits.failed_login.limit",
            "limits: { failed_login: { window: 0s } }|limits.failed_login.window",
            "limits: { failed_login: { delay: 2m } }|limits.failed_login.delay",
            "admin: { port: -1 }|admin.port",
            "listen: { port: 65536 }|listen.port",
            "listen: { threads: 0 }|listen.threads",
    })
    void outOfRangeValues(String line, String key) {
        String yaml = line.startsWith("listen") ? MINIMAL.replace("listen: { host: 127.0.0.1, port: 6432 }", line)
                : MINIMAL + line + "\n";
        List<ConfigError> errs = errors(yaml);
        ConfigError e = single(errs, key, line.startsWith("listen") ? 1 : 4);
        assertTrue(e.message().contains("between"), e.message());
    }

    @Test
    void rangeMessagesUseTheConfigSyntax() {
        ConfigError e = single(errors(MINIMAL + "limits: { auth_timeout: 2h }\n"), "limits.auth_timeout", 4);
        assertEquals("must be between 100ms and 1h", e.message());
    }

    @Test
    void backendHostAndEmbeddedTogetherIsAnError() {
        List<ConfigError> errs = errors(MINIMAL.replace("backend: { host: db.local }", """
                backend:
                  host: db.local
                  port: 5432
                  embedded: { version: "17" }"""));
        assertTrue(single(errs, "backend.host", 3).message().contains("not both"));
        single(errs, "backend.port", 4);
    }

    @Test
    void theAdminListenerCannotShareTheProxysPort() throws Exception {
        ConfigError e = single(errors(MINIMAL + "admin: { host: 127.0.0.1, port: 6432 }\n"), "admin.port", 4);
        assertTrue(e.message().contains("listen.port"), e.message());
        single(errors(MINIMAL + "admin: { host: 0.0.0.0, port: 6432 }\n"), "admin.port", 4);
        // Another address, or a port each of its own: fine.
        assertEquals(6432, parse(MINIMAL + "admin: { host: 10.0.0.5, port: 6432 }\n").admin().orElseThrow().port());
        assertEquals(9187, parse(MINIMAL + "admin: { host: 127.0.0.1 }\n").admin().orElseThrow().port());
    }

    @Test
    void backendNeedsHostOrEmbedded() {
        single(errors(MINIMAL.replace("backend: { host: db.local }", "backend: { port: 5432 }")), "backend.host", 2);
    }

    @Test
    void embeddedVersionMustBeAMajor() {
        single(errors(MINIMAL.replace("backend: { host: db.local }", "backend: { embedded: { version: 17.2 } }")),
                "backend.embedded.version", 2);
    }

    @Test
    void duplicateKeysAreErrors() {
        List<ConfigError> errs = errors(MINIMAL + """
                gate_role: a
                gate_role: b
                """);
        assertTrue(single(errs, "gate_role", 5).message().contains("line 4"));
        List<ConfigError> nested = errors(MINIMAL.replace("backend: { host: db.local }", "backend: { host: a, host: b }"));
        single(nested, "backend.host", 2);
    }

    @Test
    void emptyAndNonMappingDocuments() {
        assertTrue(errors("").get(0).message().contains("empty"));
        assertTrue(errors("# only a comment\n").get(0).message().contains("empty"));
        ConfigError list = errors("- a\n- b\n").get(0);
        assertEquals("(document)", list.key());
        assertTrue(list.message().contains("mapping"));
        assertEquals("(document)", errors("just text").get(0).key());
    }

    @Test
    void yamlSyntaxErrorGivesALineButNoSnippetOfTheFile() {
        List<ConfigError> errs = errors("""
                listen: {}
                auth:
                  auth_password: "hunter2-secret
                """);
        assertEquals(1, errs.size());
        assertEquals("(yaml)", errs.get(0).key());
        assertTrue(errs.get(0).line() > 0);
        assertFalse(errs.get(0).toString().contains("hunter2"), errs.get(0).toString());
    }

    @Test
    void secretsNeverAppearInErrors() {
        ConfigException e = assertThrows(ConfigException.class, () -> parse("""
                listen: {}
                backend: { host: db }
                auth: { source: auth_file, auth_password: hunter2-secret }
                bootstrap: { master_password: "SCRAM-SHA-256$4096:hunter2-secret" }
                """));
        assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
        single(e.errors(), "auth.auth_password", 3);
        single(e.errors(), "bootstrap.master_password", 4);
    }

    @Test
    void authKeysOfTheOtherSourceAreErrors() {
        List<ConfigError> errs = errors("""
                listen: {}
                backend: { host: db }
                auth:
                  source: auth_file
                  auth_user: x
                """);
        single(errs, "auth.auth_user", 5);
        single(errs, "auth.auth_file", 3);
    }

    @Test
    void authQueryMustTakeTheUserAsDollarOne() {
        single(errors(MINIMAL.replace("auth_user: pwgate_auth", "auth_user: a, auth_query: 'SELECT 1'")), "auth.auth_query", 3);
    }

    @Test
    void missingOrUnreadableFilesNameTheirKey() throws IOException {
        List<ConfigError> errs = errors("""
                listen: {}
                backend: { host: db, tls: verify-ca, tls_ca: nope/ca.pem }
                auth: { source: auth_file, auth_file: missing.txt }
                tls: { mode: allow, cert: server.crt, key: server.key, client_ca: ca.crt, verify: full }
                """);
        assertTrue(single(errs, "backend.tls_ca", 2).message().contains("not found"));
        single(errs, "auth.auth_file", 3);
        single(errs, "tls.cert", 4);
        single(errs, "tls.key", 4);
        single(errs, "tls.client_ca", 4);
        Files.createDirectories(dir.resolve("adir"));
        single(errors(MINIMAL.replace("auth: { source: auth_query, auth_user: pwgate_auth }",
                "auth: { source: auth_file, auth_file: adir }")), "auth.auth_file", 3);
    }

    @Test
    void tlsCombinationsThatNeedFiles() {
        List<ConfigError> errs = errors(MINIMAL + """
                tls:
                  mode: require
                  verify: ca
                """);
        single(errs, "tls.cert", 5);
        single(errs, "tls.key", 5);
        single(errs, "tls.client_ca", 6);
        single(errors(MINIMAL.replace("backend: { host: db.local }", "backend: { host: db, tls: verify-full }")),
                "backend.tls_ca", 2);
        single(errors(MINIMAL + "tls: { mode: sometimes }\n"), "tls.mode", 4);
    }

    @Test
    void aHostStartingWithASlashIsTheSocketDirectory() throws ConfigException {
        PwgateConfig c = parse(MINIMAL.replace("backend: { host: db.local }", "backend: { host: /var/run/postgresql, port: 5433 }"));
        assertEquals(Optional.of(Path.of("/var/run/postgresql/.s.PGSQL.5433")), c.backend().socketPath());
        assertEquals(Optional.empty(), parse(MINIMAL).backend().socketPath());
        // prefer is accepted: PostgreSQL answers 'N' on its socket and the session goes on in plaintext.
        parse(MINIMAL.replace("backend: { host: db.local }", "backend: { host: /run/pg, tls: prefer }"));
    }

    @Test
    void aSocketDirectoryRefusesTlsThatCannotHappenAndOverlongPaths() {
        ConfigError tls = single(errors(MINIMAL.replace("backend: { host: db.local }", "backend: { host: /run/pg, tls: require }")),
                "backend.tls", 2);
        assertTrue(tls.message().contains("Unix-domain socket"), tls.message());
        String longDir = "/" + "d".repeat(100);
        ConfigError length = single(errors(MINIMAL.replace("backend: { host: db.local }", "backend: { host: " + longDir + " }")),
                "backend.host", 2);
        assertTrue(length.message().contains("limited to 107"), length.message());
    }

    @Test
    void unknownParameterListsTheKnownOnes() {
        ConfigError e = single(errors(MINIMAL + """
                parameters:
                  rds.force_ssl: 1
                """), "parameters.rds.force_ssl", 5);
        assertTrue(e.message().contains("rds.restrict_password_commands"), e.message());
    }

    @ParameterizedTest
    @CsvSource({
            "1,true", "0,false", "on,true", "OFF,false", "true,true", "False,false", "yes,true", "No,false",
            "t,true", "F,false", "y,true", "N,false", "'\"on\"',true", "' On ',true", "TRUE,true"})
    void parametersAcceptPostgresBooleanSpellings(String value, boolean expected) throws Exception {
        PwgateConfig c = parse(MINIMAL + "parameters: { rds.restrict_password_commands: " + value + " }\n");
        assertEquals(expected, c.parameters().restrictPasswordCommands());
    }

    @ParameterizedTest
    @ValueSource(strings = {"2", "enabled", "tr", "[1]", "''"})
    void parametersRefuseOtherValues(String value) {
        single(errors(MINIMAL + "parameters: { rds.restrict_password_commands: " + value + " }\n"),
                "parameters.rds.restrict_password_commands", 4);
    }

    @ParameterizedTest
    @CsvSource({"500ms,500", "15s,15000", "2m,120000", "1h,3600000", "1d,86400000", "' 3 s',3000", "0s,0"})
    void durations(String text, long millis) throws Exception {
        PwgateConfig c = parse(MINIMAL + "limits: { drain_time: " + text + " }\n");
        assertEquals(Duration.ofMillis(millis), c.limits().drainTime());
    }

    @ParameterizedTest
    @ValueSource(strings = {"15", "1.5s", "15 sec", "-1s", "s", "15S"})
    void malformedDurationsNameTheExpectedForm(String text) {
        ConfigError e = single(errors(MINIMAL + "limits: { auth_timeout: " + text + " }\n"), "limits.auth_timeout", 4);
        assertTrue(e.message().contains("15s"), e.message());
    }

    @ParameterizedTest
    @CsvSource({"1024,1024", "1KiB,1024", "1kB,1024", "64MiB,67108864", "64MB,67108864", "1GiB,1073741824",
            "1GB,1073741824", "2048B,2048", "'8 MiB',8388608"})
    void sizes(String text, long bytes) throws Exception {
        assertEquals(bytes, parse(MINIMAL + "limits: { max_message_size: " + text + " }\n").limits().maxMessageSize());
    }

    @ParameterizedTest
    @ValueSource(strings = {"64M", "1.5MiB", "64 mib", "-1", "lots", "99999999999999GiB"})
    void malformedSizes(String text) {
        single(errors(MINIMAL + "limits: { max_message_size: " + text + " }\n"), "limits.max_message_size", 4);
    }

    @ParameterizedTest
    @ValueSource(strings = {"''", "\"a\\0b\"", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "ééééééééééééééééééééééééééééééééé"})
    void invalidRoleNames(String name) {
        single(errors(MINIMAL + "gate_role: " + name + "\n"), "gate_role", 4);
    }

    @Test
    void roleNameOf63BytesIsAccepted() throws Exception {
        String name = "a".repeat(61) + "é";
        assertEquals(name, parse(MINIMAL + "gate_role: " + name + "\n").gateRole());
    }

    @Test
    void protectedRoleListItemsAreCheckedOneByOne() {
        single(errors(MINIMAL + "protected_roles: [ok, '', [x]]\n"), "protected_roles[1]", 4);
        single(errors(MINIMAL + "protected_roles: [ok, '', [x]]\n"), "protected_roles[2]", 4);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "LOGIN; DROP TABLE x",
            "LOGIN PASSWORD 'x'",
            "SUPERUSER ADMIN postgres",
            "VALID UNTIL 'infinity'' OR 1=1 --'",
            "VALID UNTIL infinity",
            "CONNECTION LIMIT many",
            "CONNECTION 5",
            "LOGIN -- comment",
            "IN ROLE rds_password",
            "LOGIN/**/SUPERUSER"})
    void bootstrapAttributesOutsideTheWhitelistAreRefused(String attributes) {
        String yaml = MINIMAL + """
                bootstrap:
                  users:
                    - name: app
                      attributes: "%s"
                """.formatted(attributes.replace("\"", "\\\""));
        single(errors(yaml), "bootstrap.users[0].attributes", 7);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "LOGIN", "login nosuperuser inherit createdb createrole noreplication",
            "NOLOGIN NOBYPASSRLS BYPASSRLS REPLICATION NOINHERIT NOCREATEDB NOCREATEROLE SUPERUSER",
            "LOGIN CONNECTION LIMIT -1 VALID UNTIL 'infinity'",
            "VALID UNTIL '2030-06-01 12:00:00.5+05:30'"})
    void bootstrapAttributesInTheWhitelistAreAccepted(String attributes) throws Exception {
        String yaml = MINIMAL + "bootstrap: { users: [ { name: app, attributes: \"" + attributes + "\" } ] }\n";
        assertEquals(attributes, parse(yaml).bootstrap().orElseThrow().users().get(0).attributes());
    }

    @Test
    void bootstrapUserErrorsNameTheirIndex() {
        List<ConfigError> errs = errors(MINIMAL + """
                bootstrap:
                  users:
                    - { name: ok }
                    - { password: x }
                    - { name: b, member_of: [''], role: y }
                """);
        single(errs, "bootstrap.users[1].name", 7);
        single(errs, "bootstrap.users[2].member_of[0]", 8);
        single(errs, "bootstrap.users[2].role", 8);
    }

    @Test
    void aRootLevelAloneGovernsPwgatesOwnLoggersButNotTheAudit() throws Exception {
        PwgateConfig c = parse(MINIMAL + "logging: { levels: { root: warn } }\n");
        assertEquals(Map.of("root", "warn", "pwgate.audit", "info"), c.logging().levels());
        c = parse(MINIMAL + "logging: { levels: { root: warn, org.pwgate: debug, pwgate.audit: off } }\n");
        assertEquals(Map.of("root", "warn", "org.pwgate", "debug", "pwgate.audit", "off"), c.logging().levels());
    }

    @Test
    void loggingLevelsAreChecked() {
        List<ConfigError> errs = errors(MINIMAL + """
                logging:
                  format: xml
                  levels: { org.pwgate: loud, "bad name": info }
                """);
        single(errs, "logging.format", 5);
        single(errs, "logging.levels.org.pwgate", 6);
        single(errs, "logging.levels.bad name", 6);
    }

    // ---- reload ----

    @Test
    void restartRequiredNamesListenBackendTlsAdminAndLogSinks() throws Exception {
        PwgateConfig before = parse(MINIMAL);
        PwgateConfig after = parse(MINIMAL.replace("port: 6432", "port: 6433").replace("db.local", "db2")
                + "admin: { port: 9000 }\nlogging: { format: json }\n");
        assertEquals(List.of("listen", "backend", "admin", "logging.format"), ConfigLoader.restartRequired(before, after));
        assertEquals(List.of(), ConfigLoader.changedLive(before, after));
    }

    @Test
    void liveChangesAreNotReportedAsNeedingARestart() throws Exception {
        PwgateConfig before = parse(MINIMAL);
        PwgateConfig after = parse(MINIMAL.replace("auth_user: pwgate_auth", "auth_user: other")
                + "parameters: { rds.restrict_password_commands: on }\nprotected_roles: [a]\ngate_role: g\n"
                + "limits: { auth_timeout: 3s }\nlogging: { levels: { root: debug } }\n");
        assertEquals(List.of(), ConfigLoader.restartRequired(before, after));
        assertEquals(List.of("parameters", "gate_role", "protected_roles", "limits", "auth", "logging.levels"),
                ConfigLoader.changedLive(before, after));
        assertEquals(List.of(), ConfigLoader.changedLive(before, parse(MINIMAL)));
    }

    @Test
    void changedSecretCountsAsAChange() throws Exception {
        PwgateConfig a = parse(MINIMAL.replace("auth_user: pwgate_auth", "auth_user: u, auth_password: one"));
        PwgateConfig b = parse(MINIMAL.replace("auth_user: pwgate_auth", "auth_user: u, auth_password: two"));
        assertEquals(List.of("auth"), ConfigLoader.changedLive(a, b));
    }

    // ---- shipped examples ----

    @ParameterizedTest
    @ValueSource(strings = {"demo.yaml", "existing-postgres.yaml", "auth-file.yaml"})
    void exampleFilesParse(String name) throws Exception {
        PwgateConfig c = ConfigLoader.load(examples().resolve(name));
        assertTrue(c.parameters().restrictPasswordCommands(), name + " turns the restriction on");
    }

    @Test
    void demoConfigIsWhatTheReadmePromises() throws Exception {
        PwgateConfig c = ConfigLoader.load(examples().resolve("demo.yaml"));
        assertEquals("17", c.backend().embedded().orElseThrow().version());
        assertEquals(new PwgateConfig.Listen("127.0.0.1", 6432), c.listen());
        assertEquals(new PwgateConfig.Admin("127.0.0.1", 9187), c.admin().orElseThrow());
        assertEquals(Optional.of("rdsadmin"), c.auth().authUser());
        assertEquals("md57de054009005af3306e4227fcd535166", c.auth().authPassword().orElseThrow().reveal());
        PwgateConfig.Bootstrap b = c.bootstrap().orElseThrow();
        assertEquals(Optional.of("postgres"), b.masterUser());
        assertEquals("md55cbcd317e4d8ba03f45e0bb4531ff22b", b.masterPassword().orElseThrow().reveal());
        assertTrue(b.users().stream().anyMatch(u -> u.name().equals("app") && u.attributes().equals("LOGIN")));
    }

    private static Path examples() {
        // Surefire runs with the module folder as working directory.
        Path p = Path.of("examples");
        assertTrue(Files.isDirectory(p), "examples folder not found from " + Path.of("").toAbsolutePath());
        return p;
    }
}
