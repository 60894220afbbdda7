package org.pwgate.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuthFileSourceTest {
    private static final String APP = "md5e08b2c8712c081b1c1f342567fb32565";
    private static final String POSTGRES = "md55cbcd317e4d8ba03f45e0bb4531ff22b";

    @TempDir
    Path dir;

    @Test
    void parsesPgBouncerUserlistLines() {
        Map<String, String> users = AuthFileSource.parse("""
                ; comment
                # another comment
                   \t
                "app" "%s"
                  "postgres"   "%s"  trailing fields are ignored
                "quo""ted" "pa""ss"
                "Ünïcødé" "plain text password"\r
                """.formatted(APP, POSTGRES), "userlist.txt");
        assertEquals(Map.of("app", APP, "postgres", POSTGRES, "quo\"ted", "pa\"ss", "Ünïcødé", "plain text password"), users);
    }

    @Test
    void parseErrorsNameFileAndLineButNeverTheSecret() {
        AuthSourceException e = assertThrows(AuthSourceException.class, () -> AuthFileSource.parse("""
                "ok" "%s"
                app hunter2-secret
                "app""hunter2-secret"
                "app" "hunter2-secret
                "" "hunter2-secret"
                "ok" "hunter2-secret"
                """.formatted(APP), "/etc/pwgate/userlist.txt"));
        String m = e.getMessage();
        for (int line = 2; line <= 6; line++) {
            assertTrue(m.contains("/etc/pwgate/userlist.txt line " + line + ":"), m);
        }
        assertTrue(m.contains("already defined at line 1"), m);
        assertFalse(m.contains("hunter2"), m);
        assertFalse(m.contains(APP.substring(3)), m);
    }

    private Path write(String text) throws Exception {
        Path f = dir.resolve("userlist.txt");
        Files.writeString(f, text, StandardCharsets.UTF_8);
        return f;
    }

    private static Optional<Credential> lookup(AuthFileSource s, String user) throws Exception {
        return s.lookup(user).toCompletableFuture().get();
    }

    @Test
    void lookupGivesLoginCredentialsWithoutExpiry() throws Exception {
        AuthFileSource s = new AuthFileSource(write("\"app\" \"" + APP + "\"\n"));
        assertEquals(Optional.of(new Credential("app", Optional.of(APP), true, Optional.empty())), lookup(s, "app"));
        assertEquals(Optional.empty(), lookup(s, "ghost"));
        assertEquals(Optional.empty(), lookup(s, "APP"), "user names are case-sensitive, like pg_authid");
        assertTrue(s.healthy().toCompletableFuture().get());
    }

    @Test
    void reReadsTheFileWhenItChanges() throws Exception {
        Path f = write("\"app\" \"" + APP + "\"\n");
        AuthFileSource s = new AuthFileSource(f);
        Files.writeString(f, "\"app\" \"" + APP + "\"\n\"postgres\" \"" + POSTGRES + "\"\n");
        assertEquals(Optional.of(POSTGRES), lookup(s, "postgres").flatMap(Credential::storedPassword));
        assertEquals(2, s.size());
    }

    @Test
    void unchangedStampMeansNoReRead() throws Exception {
        // An old mtime, outside the racy window: the stat says nothing changed, so the file is not read.
        FileTime old = FileTime.from(Instant.parse("2020-01-01T00:00:00Z"));
        Path f = write("\"app\" \"" + APP + "\"\n");
        Files.setLastModifiedTime(f, old);
        AuthFileSource s = new AuthFileSource(f);
        Files.writeString(f, "\"app\" \"" + POSTGRES + "\"\n");
        Files.setLastModifiedTime(f, old);
        assertEquals(Optional.of(APP), lookup(s, "app").flatMap(Credential::storedPassword));
    }

    @Test
    void sameSizeEditWithinTheSameSecondIsStillSeen() throws Exception {
        // A just-written file is "racy": mtime and size can stay the same across an edit (all md5
        // hashes have one length), so its content is checked again.
        Path f = write("\"app\" \"" + APP + "\"\n");
        FileTime mtime = Files.getLastModifiedTime(f);
        AuthFileSource s = new AuthFileSource(f, Runnable::run, Clock.systemUTC());
        Files.writeString(f, "\"app\" \"" + POSTGRES + "\"\n");
        Files.setLastModifiedTime(f, mtime);
        assertEquals(Optional.of(POSTGRES), lookup(s, "app").flatMap(Credential::storedPassword));
    }

    @Test
    void badReloadKeepsTheLastGoodUsers() throws Exception {
        Path f = write("\"app\" \"" + APP + "\"\n");
        AuthFileSource s = new AuthFileSource(f);
        Files.writeString(f, "\"app\" \"" + APP + "\"\nbroken line\n");
        assertEquals(Optional.of(APP), lookup(s, "app").flatMap(Credential::storedPassword));
        Files.delete(f);
        assertEquals(Optional.of(APP), lookup(s, "app").flatMap(Credential::storedPassword));
        assertFalse(s.healthy().toCompletableFuture().get());
        Files.writeString(f, "\"postgres\" \"" + POSTGRES + "\"\n");
        assertEquals(Optional.empty(), lookup(s, "app"), "a good file replaces the users");
        assertEquals(Optional.of(POSTGRES), lookup(s, "postgres").flatMap(Credential::storedPassword));
    }

    @Test
    void badFileAtStartIsAnError() throws Exception {
        Path f = write("app md5\n");
        AuthSourceException e = assertThrows(AuthSourceException.class, () -> new AuthFileSource(f));
        assertTrue(e.getMessage().contains(f + " line 1"), e.getMessage());
        assertThrows(java.io.IOException.class, () -> new AuthFileSource(dir.resolve("missing.txt")));
        Files.write(f, new byte[] {'"', 'a', '"', ' ', '"', (byte) 0xC3, (byte) 0x28, '"'});
        assertTrue(assertThrows(AuthSourceException.class, () -> new AuthFileSource(f)).getMessage().contains("UTF-8"));
    }

    @Test
    void theShippedExampleUserlistParses() throws Exception {
        Path example = Path.of("..", "config", "examples", "userlist.txt");
        assertTrue(Files.isRegularFile(example), "not found: " + example.toAbsolutePath());
        Map<String, String> users = AuthFileSource.parse(Files.readString(example), example.toString());
        assertEquals(Map.of("app", APP, "postgres", POSTGRES), users);
    }
}
