package org.pwgate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.Psql;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.TempDirs;

/**
 * No Docker engine runs here, so the image is tested through what it runs: the entrypoint script
 * with the exact command line the Dockerfile gives it, against the built jar.
 */
class DockerEntrypointIT {
    static final Path DOCKER = CliIT.REPO.resolve("docker");

    @Test
    void theDockerfileRunsTheEntrypointWithTheMountedConfig() throws Exception {
        String dockerfile = Files.readString(DOCKER.resolve("Dockerfile"));
        assertTrue(dockerfile.contains("ENTRYPOINT [\"/opt/pwgate/entrypoint.sh\"]"), dockerfile);
        assertTrue(dockerfile.contains("CMD [\"run\"]"));
        assertTrue(dockerfile.contains("USER pwgate"), "the runtime image runs as a non-root user");
        assertTrue(dockerfile.contains("HEALTHCHECK") && dockerfile.contains("entrypoint.sh\", \"healthcheck\""));
        assertTrue(dockerfile.contains("COPY docker/entrypoint.sh /opt/pwgate/entrypoint.sh"));
        String entrypoint = Files.readString(DOCKER.resolve("entrypoint.sh"));
        assertTrue(entrypoint.contains("PWGATE_CONFIG=${PWGATE_CONFIG:-/etc/pwgate/pwgate.yaml}"));
        assertTrue(entrypoint.contains("PWGATE_JAR=${PWGATE_JAR:-/opt/pwgate/pwgate.jar}"));
    }

    @Test
    void withoutAMountedConfigTheEntrypointExitsTwoAndSaysWhere() throws Exception {
        Process p = entrypoint(Map.of("PWGATE_CONFIG", "/nonexistent/pwgate.yaml"), "run");
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue());
        String err = new String(p.getErrorStream().readAllBytes());
        assertTrue(err.contains("/nonexistent/pwgate.yaml"), err);
    }

    @Test
    void theSidecarConfigPassesCheckConfig() throws Exception {
        Process p = entrypoint(Map.of(), "check-config", DOCKER.resolve("sidecar.yaml").toString());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), new String(p.getErrorStream().readAllBytes()));
    }

    @Test
    void theEntrypointRunsPwgateThatServesClientsAndStopsOnSigterm() throws Exception {
        int port = freePort();
        Path config = TempDirs.create("pwgate-docker").resolve("pwgate.yaml");
        Files.writeString(config, PwgateHarness.baseYaml(true).replace("port: 0", "port: " + port));
        Process p = entrypoint(Map.of("PWGATE_CONFIG", config.toString()), "run");
        try {
            waitForPort(port, p);
            Psql.Result r = new Psql("127.0.0.1", port, PwgateHarness.APP, PwgateHarness.APP_PASSWORD, "postgres")
                    .command("SELECT 'sidecar'");
            assertEquals(0, r.exitCode(), r.all());
            assertEquals("sidecar", r.stdout().strip());
        } finally {
            p.destroy();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "pwgate did not stop on SIGTERM");
        }
    }

    static Process entrypoint(Map<String, String> env, String... args) throws IOException {
        var cmd = new java.util.ArrayList<String>();
        cmd.add(DOCKER.resolve("entrypoint.sh").toString());
        cmd.addAll(java.util.List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("PWGATE_JAR", CliIT.JAR.toAbsolutePath().toString());
        pb.environment().put("PATH", Path.of(CliIT.javaBin()).getParent() + ":" + System.getenv("PATH"));
        pb.environment().putAll(env);
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        return pb.start();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static void waitForPort(int port, Process p) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline && p.isAlive()) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException e) {
                Thread.sleep(200);
            }
        }
        throw new AssertionError("nothing listens on " + port + (p.isAlive() ? "" : " (exited " + p.exitValue() + ")"));
    }
}
