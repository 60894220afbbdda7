package org.pwgate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.Psql;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.TempDirs;

/** The runnable jar, as an operator uses it: its three commands and their exit codes. */
class CliIT {
    static final Path JAR = Path.of(System.getProperty("pwgate.jar", "../proxy-core/target/pwgate.jar"));
    static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();

    record Run(int exit, String out, String err) {}

    static Run java(String stdin, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(javaBin(), "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        File err = File.createTempFile("pwgate-cli", ".err");
        pb.redirectError(err);
        Process p = pb.start();
        if (stdin != null) {
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "pwgate did not exit");
        String e = Files.readString(err.toPath());
        err.delete();
        return new Run(p.exitValue(), out, e);
    }

    static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    @Test
    void checkConfigAcceptsTheExamples() throws Exception {
        for (String example : List.of("demo.yaml", "existing-postgres.yaml", "auth-file.yaml")) {
            Run r = java(null, "check-config", REPO.resolve("config/examples").resolve(example).toString());
            assertEquals(0, r.exit(), example + ": " + r.err());
        }
    }

    @Test
    void checkConfigNamesEveryBadKeyAndLineAndExitsTwo() throws Exception {
        Path f = TempDirs.create("pwgate-cli").resolve("bad.yaml");
        Files.writeString(f, """
                listen: { host: 127.0.0.1, port: 6432 }
                backend: { host: 127.0.0.1, port: 99999 }
                auth: { source: auth_query, auth_user: x }
                limits: { auth_timeout: soon }
                colour: blue
                """);
        Run r = java(null, "check-config", f.toString());
        assertEquals(2, r.exit(), r.out() + r.err());
        assertTrue(r.err().contains("backend.port") && r.err().contains("line 2"), r.err());
        assertTrue(r.err().contains("limits.auth_timeout") && r.err().contains("line 4"), r.err());
        assertTrue(r.err().contains("colour") && r.err().contains("line 5"), r.err());
    }

    @Test
    void md5PrintsAUserlistLine() throws Exception {
        Run r = java("s3cret\n", "md5", "alice");
        assertEquals(0, r.exit(), r.err());
        assertEquals("\"alice\" \"" + PwgateHarness.md5("s3cret", "alice") + "\"", r.out().strip());
        assertFalse(r.err().contains("s3cret"));
    }

    @Test
    void aPortInUseNamesItsAddressAndKeyAndExitsOne() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            Path dir = TempDirs.create("pwgate-cli");
            Files.writeString(dir.resolve("users.txt"), "");
            Path config = dir.resolve("pwgate.yaml");
            Files.writeString(config, "listen: { host: 127.0.0.1, port: " + port + " }\n"
                    + "backend: { host: 127.0.0.1, port: 5432 }\n"
                    + "auth: { source: auth_file, auth_file: users.txt }\n");
            Run r = java(null, "--config", config.toString());
            assertEquals(1, r.exit(), r.out() + r.err());
            assertTrue(r.err().contains("pwgate failed to start: cannot listen on 127.0.0.1:" + port + " (listen.port)"), r.err());
        }
    }

    @Test
    void unknownCommandPrintsUsageAndExitsTwo() throws Exception {
        Run r = java(null, "frobnicate");
        assertEquals(2, r.exit());
        assertTrue(r.err().toLowerCase().contains("usage"), r.err());
    }

    @Test
    void theJarServesClientsAndStopsOnSigterm() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path dir = TempDirs.create("pwgate-jar");
        Path config = dir.resolve("pwgate.yaml");
        Files.writeString(config, PwgateHarness.baseYaml(true).replace("port: 0", "port: " + port));
        Process p = new ProcessBuilder(javaBin(), "-jar", JAR.toString(), "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("out.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            boolean up = false;
            while (!up && System.nanoTime() < deadline && p.isAlive()) {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                    up = true;
                } catch (IOException e) {
                    Thread.sleep(200);
                }
            }
            assertTrue(up, "pwgate did not listen: " + Files.readString(dir.resolve("out.log")));
            Psql.Result r = new Psql("127.0.0.1", port, PwgateHarness.APP, PwgateHarness.APP_PASSWORD, "postgres")
                    .command("SELECT 'through the jar'");
            assertEquals(0, r.exitCode(), r.all());
            assertEquals("through the jar", r.stdout().strip());
            String log = Files.readString(dir.resolve("out.log"));
            assertFalse(log.contains(PwgateHarness.APP_PASSWORD), "a password reached the log");
            assertFalse(log.contains(PwgateHarness.md5(PwgateHarness.APP_PASSWORD, PwgateHarness.APP)), "a hash reached the log");
        } finally {
            p.destroy();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "pwgate did not stop on SIGTERM");
        }
        // SIGTERM runs the shutdown hook: exit code 143 (128 + 15) or 0 are both a clean stop.
        assertTrue(p.exitValue() == 0 || p.exitValue() == 143, "exit " + p.exitValue());
    }
}
