package org.pwgate.it.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the real psql client (Debian's, installed by .ci/run) against a host and port, with the
 * password given through PGPASSWORD, and captures what it printed.
 */
public final class Psql {
    private final String host;
    private final int port;
    private final String user;
    private final String password;
    private final String database;

    public Psql(String host, int port, String user, String password, String database) {
        this.host = host;
        this.port = port;
        this.user = user;
        this.password = password;
        this.database = database;
    }

    public record Result(int exitCode, String stdout, String stderr) {
        public String all() {
            return stdout + stderr;
        }
    }

    /** {@code psql -X -v ON_ERROR_STOP=1 -At -c sql}. */
    public Result command(String sql) throws IOException, InterruptedException {
        return run(null, Map.of(), "-c", sql);
    }

    /** Feeds {@code stdin} to psql as a script. */
    public Result script(String stdin) throws IOException, InterruptedException {
        return run(stdin, Map.of());
    }

    /**
     * psql is Debian's postgresql-client, not a Maven artifact. Where it is missing, tests that need
     * it are skipped with a message saying how to install it, except in CI (CI=true), which
     * installs it (.ci/run) and must never skip them.
     */
    public static void assumeInstalled() {
        assumeInstalled("psql");
    }

    /** The same for other programs of postgresql-client, e.g. pg_dump and pg_restore. */
    public static void assumeInstalled(String... programs) {
        for (String program : programs) {
            boolean installed = java.util.Arrays.stream(System.getenv().getOrDefault("PATH", "").split(":"))
                    .anyMatch(dir -> java.nio.file.Files.isExecutable(java.nio.file.Path.of(dir, program)));
            if (!installed) {
                String why = program + " is not installed (apt-get install postgresql-client)";
                if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                    throw new AssertionError(why + ": CI must run the client-program tests");
                }
                org.junit.jupiter.api.Assumptions.abort(why + ": skipping this test");
            }
        }
    }

    /** Runs psql with extra arguments and environment, feeding {@code stdin} (may be null). */
    public Result run(String stdin, Map<String, String> env, String... args) throws IOException, InterruptedException {
        assumeInstalled();
        // setsid: no controlling terminal, so psql reads prompts (\password) from stdin, as in CI.
        List<String> cmd = new ArrayList<>(List.of("setsid", "-w", "psql", "-X", "-v", "ON_ERROR_STOP=1", "-At",
                "-h", host, "-p", Integer.toString(port), "-U", user, "-d", database));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("PGPASSWORD", password);
        pb.environment().put("PGCONNECT_TIMEOUT", "10");
        pb.environment().remove("PGSERVICE");
        pb.environment().putAll(env);
        java.io.File errFile = java.io.File.createTempFile("psql", ".err");
        errFile.deleteOnExit();
        pb.redirectError(errFile);
        Process p = pb.start();
        if (stdin != null) {
            p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        p.getOutputStream().close();
        var out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("psql did not finish in 60 s");
        }
        String err = java.nio.file.Files.readString(errFile.toPath());
        errFile.delete();
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), err);
    }
}
