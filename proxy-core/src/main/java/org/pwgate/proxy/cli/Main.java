package org.pwgate.proxy.cli;

import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.pwgate.auth.Md5;
import org.pwgate.config.ConfigException;
import org.pwgate.config.ConfigLoader;
import org.pwgate.config.PwgateConfig;
import org.pwgate.proxy.ProxyServer;

/**
 * pwgate's command line.
 *
 * <pre>
 *   pwgate --config FILE        run (exit 2: invalid config, 1: startup failed)
 *   pwgate check-config FILE    validate (exit 0 "ok", or 2 with every error)
 *   pwgate md5 USER             read a password on stdin, print the userlist line
 *   pwgate --help | --version
 * </pre>
 */
public final class Main {
    static final int OK = 0;
    static final int STARTUP_FAILED = 1;
    static final int USAGE = 2;

    private static final String USAGE_TEXT = """
            usage: pwgate --config FILE        run pwgate
                   pwgate check-config FILE    validate a configuration file
                   pwgate md5 USER             read a password on stdin, print its userlist line
                   pwgate --help | --version""";

    private Main() {}

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        if (code != OK || !(args.length == 2 && args[0].equals("--config"))) {
            System.exit(code);
        }
    }

    /** Runs a command; for {@code --config} it returns only once the server has stopped. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
            out.println(USAGE_TEXT);
            return OK;
        }
        if (args.length == 1 && args[0].equals("--version")) {
            out.println("pwgate " + version());
            return OK;
        }
        if (args.length == 2 && args[0].equals("check-config")) {
            try {
                load(Path.of(args[1]));
                out.println("ok");
                return OK;
            } catch (ConfigException e) {
                e.errors().forEach(err::println);
                return USAGE;
            } catch (IOException e) {
                err.println("cannot read " + args[1] + ": " + e.getMessage());
                return USAGE;
            }
        }
        if (args.length == 2 && args[0].equals("md5")) {
            return md5(args[1], out, err);
        }
        if (args.length == 2 && args[0].equals("--config")) {
            return serve(Path.of(args[1]), err);
        }
        err.println(USAGE_TEXT);
        return USAGE;
    }

    private static PwgateConfig load(Path file) throws ConfigException, IOException {
        if (!Files.isReadable(file)) {
            throw new IOException("no such file or not readable");
        }
        return ConfigLoader.load(file);
    }

    private static int serve(Path file, PrintStream err) {
        PwgateConfig config;
        try {
            config = load(file);
        } catch (ConfigException e) {
            e.errors().forEach(err::println);
            return USAGE;
        } catch (IOException e) {
            err.println("cannot read " + file + ": " + e.getMessage());
            return USAGE;
        }
        ProxyServer server;
        try {
            server = ProxyServer.start(config);
        } catch (Exception e) {
            err.println("pwgate failed to start: " + oneLine(e));
            return STARTUP_FAILED;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "pwgate-shutdown"));
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return OK;
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.replace('\n', ' ');
    }

    private static int md5(String user, PrintStream out, PrintStream err) {
        String password;
        Console console = System.console();
        if (console != null) {
            char[] chars = console.readPassword("password for %s: ", user);
            password = chars == null ? null : new String(chars);
        } else {
            try {
                password = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            } catch (IOException e) {
                password = null;
            }
        }
        if (password == null || password.isEmpty()) {
            err.println("no password given on stdin");
            return USAGE;
        }
        out.println("\"" + user.replace("\"", "\"\"") + "\" \"" + Md5.hash(password, user) + "\"");
        return OK;
    }

    private static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "0.1.0-SNAPSHOT" : v;
    }
}
