package org.pwgate.it.ops;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the operations tests share: the admin listener over HTTP, metrics, config edits, waiting. */
final class Ops {
    private Ops() {}

    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    record Http(int status, String body) {}

    /** A port free right now on loopback (for the admin listener and fixed listen ports). */
    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String adminYaml(int port) {
        return "admin: { host: 127.0.0.1, port: " + port + " }\n";
    }

    static Http get(int adminPort, String path) throws IOException, InterruptedException {
        HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
                .timeout(Duration.ofSeconds(10)).GET().build();
        HttpResponse<String> response = HTTP.send(r, HttpResponse.BodyHandlers.ofString());
        return new Http(response.statusCode(), response.body());
    }

    /** Scrapes /metrics; fails unless it answers 200. */
    static String scrape(int adminPort) throws IOException, InterruptedException {
        Http r = get(adminPort, "/metrics");
        if (r.status() != 200) {
            throw new AssertionError("/metrics answered " + r.status() + ": " + r.body());
        }
        return r.body();
    }

    /** One series' value, e.g. {@code pwgate_config_reloads_total{outcome="invalid"}}; 0 when absent. */
    static double metric(String scrape, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(scrape);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    static double metric(int adminPort, String series) throws IOException, InterruptedException {
        return metric(scrape(adminPort), series);
    }

    /**
     * Replaces the config file's content the way careful operators and Kubernetes do: write
     * beside it, then rename over it.
     */
    static void rewrite(Path file, String yaml) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".new");
        Files.writeString(tmp, yaml);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    interface Check {
        boolean ok() throws Exception;
    }

    static void await(String what, Duration max, Check check) throws Exception {
        long deadline = System.nanoTime() + max.toNanos();
        while (!check.ok()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ": not within " + max);
            }
            Thread.sleep(100);
        }
    }

    static void execute(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    static int backendPid(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /** Every SQLSTATE in an exception's chain (causes and next exceptions). */
    static java.util.List<String> sqlStates(Throwable t) {
        java.util.List<String> states = new java.util.ArrayList<>();
        java.util.Set<Throwable> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        java.util.ArrayDeque<Throwable> todo = new java.util.ArrayDeque<>();
        todo.add(t);
        while (!todo.isEmpty()) {
            Throwable x = todo.poll();
            if (x == null || !seen.add(x)) {
                continue;
            }
            if (x instanceof SQLException e) {
                if (e.getSQLState() != null) {
                    states.add(e.getSQLState());
                }
                if (e.getNextException() != null) {
                    todo.add(e.getNextException());
                }
            }
            if (x.getCause() != null) {
                todo.add(x.getCause());
            }
        }
        return states;
    }
}
