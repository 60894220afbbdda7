package org.pwgate.proxy.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pwgate.config.ConfigLoader;
import org.pwgate.config.PwgateConfig.LogFormat;
import org.pwgate.config.PwgateConfig.Logging;

/** Against a private LoggerContext (not the test JVM's), with the console and audit streams captured. */
class LoggingConfiguratorTest {
    final LoggerContext context = new LoggerContext();
    final ByteArrayOutputStream console = new ByteArrayOutputStream();
    final ByteArrayOutputStream audit = new ByteArrayOutputStream();
    final LoggingConfigurator configurator = new LoggingConfigurator(context, console, audit);

    @TempDir
    Path dir;

    static final Map<String, String> DEFAULT_LEVELS = Map.of("root", "info", "pwgate.audit", "info");

    @org.junit.jupiter.api.BeforeEach
    void startContext() {
        // As SLF4J's binding sets up the process's context.
        context.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter());
        context.start();
    }

    @AfterEach
    void stop() {
        context.stop();
    }

    String console() {
        return console.toString(StandardCharsets.UTF_8);
    }

    String audit() {
        return audit.toString(StandardCharsets.UTF_8);
    }

    static List<String> lines(String s) {
        return s.isEmpty() ? List.of() : List.of(s.split("\n"));
    }

    static List<Appender<ILoggingEvent>> appenders(Logger logger) {
        List<Appender<ILoggingEvent>> list = new ArrayList<>();
        logger.iteratorForAppenders().forEachRemaining(list::add);
        return list;
    }

    @Test
    void textFormatIsOneReadableLinePerEvent() {
        configurator.apply(new Logging(LogFormat.TEXT, DEFAULT_LEVELS, Optional.empty()));
        context.getLogger("org.pwgate.proxy.X").info("pwgate listening on {}:{}", "127.0.0.1", 6432);
        String line = console().strip();
        assertTrue(line.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\S* INFO  \\[[^\\]]+\\] org\\.pwgate\\.proxy\\.X - "
                + "pwgate listening on 127\\.0\\.0\\.1:6432"), line);
    }

    @Test
    void jsonFormatIsOneObjectPerLineWithTheFormattedMessage() {
        configurator.apply(new Logging(LogFormat.JSON, DEFAULT_LEVELS, Optional.empty()));
        context.getLogger("org.pwgate.proxy.X").warn("login refused for user \"{}\"", "app");
        context.getLogger("org.pwgate.proxy.X").error("boom", new IllegalStateException("broken"));
        List<String> lines = lines(console());
        assertEquals(2, lines.size(), console());
        for (String l : lines) {
            assertTrue(l.startsWith("{") && l.endsWith("}"), l);
        }
        String first = lines.get(0);
        assertTrue(first.contains("\"level\":\"WARN\""), first);
        assertTrue(first.contains("\"loggerName\":\"org.pwgate.proxy.X\""), first);
        assertTrue(first.contains("\"formattedMessage\":\"login refused for user \\\"app\\\"\""), first);
        assertFalse(first.contains("\"arguments\""), "raw arguments are left out: " + first);
        assertFalse(first.contains("\"message\""), "the unformatted pattern is left out: " + first);
        assertTrue(lines.get(1).contains("\"throwable\""), lines.get(1));
    }

    @Test
    void switchingFormatReplacesTheConsoleAppenderAndApplyingTwiceChangesNothing() {
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        // What logback.xml installs before pwgate configures anything.
        OutputStreamAppender<ILoggingEvent> fromXml = new OutputStreamAppender<>();
        ByteArrayOutputStream xmlOut = new ByteArrayOutputStream();
        PatternLayoutEncoder enc = new PatternLayoutEncoder();
        enc.setContext(context);
        enc.setPattern("%msg%n");
        enc.start();
        fromXml.setContext(context);
        fromXml.setName("CONSOLE");
        fromXml.setEncoder(enc);
        fromXml.setOutputStream(xmlOut);
        fromXml.start();
        root.addAppender(fromXml);

        Logging text = new Logging(LogFormat.TEXT, DEFAULT_LEVELS, Optional.empty());
        configurator.apply(text);
        List<Appender<ILoggingEvent>> afterFirst = appenders(root);
        assertEquals(1, afterFirst.size());
        assertFalse(fromXml.isStarted(), "logback.xml's console appender is stopped");
        configurator.apply(text);
        assertEquals(afterFirst, appenders(root), "same settings: same appender");

        configurator.apply(new Logging(LogFormat.JSON, DEFAULT_LEVELS, Optional.empty()));
        assertEquals(1, appenders(root).size());
        context.getLogger("a.b").info("hello");
        assertTrue(console().strip().startsWith("{"), console());
        assertEquals("", xmlOut.toString(StandardCharsets.UTF_8));
    }

    @Test
    void levelsApplyPerLoggerAndARemovedOneGetsItsFormerLevelBack() {
        Logger netty = context.getLogger("io.netty");
        netty.setLevel(Level.WARN); // as logback.xml sets it
        configurator.apply(new Logging(LogFormat.TEXT, Map.of("root", "warn", "org.pwgate", "debug", "io.netty", "error",
                "pwgate.audit", "info"), Optional.empty()));
        assertEquals(Level.WARN, context.getLogger(Logger.ROOT_LOGGER_NAME).getLevel());
        assertEquals(Level.DEBUG, context.getLogger("org.pwgate").getLevel());
        assertEquals(Level.ERROR, netty.getLevel());

        context.getLogger("org.pwgate.proxy.relay.SessionRelay").debug("relay detail");
        context.getLogger("com.example").info("library chatter");
        assertTrue(console().contains("relay detail"));
        assertFalse(console().contains("library chatter"));

        configurator.apply(new Logging(LogFormat.TEXT, DEFAULT_LEVELS, Optional.empty()));
        assertEquals(Level.INFO, context.getLogger(Logger.ROOT_LOGGER_NAME).getLevel());
        assertNull(context.getLogger("org.pwgate").getLevel(), "follows root again");
        assertEquals(Level.INFO, context.getLogger("org.pwgate").getEffectiveLevel());
        assertEquals(Level.WARN, netty.getLevel(), "back to logback.xml's level");

        configurator.apply(new Logging(LogFormat.TEXT, Map.of("root", "info", "org.pwgate.proxy.gate", "off"), Optional.empty()));
        assertEquals(Level.OFF, context.getLogger("org.pwgate.proxy.gate").getLevel());
        configurator.apply(new Logging(LogFormat.TEXT, Map.of("root", "info"), Optional.empty()));
        assertNull(context.getLogger("org.pwgate.proxy.gate").getLevel(), "inherits again");
    }

    @Test
    void aRootLevelAloneQuietsPwgatesOwnMessages() throws Exception {
        // As loaded from a file that sets only root: the defaults must not pin org.pwgate to info.
        Logging loaded = ConfigLoader.parse("""
                listen: { host: 127.0.0.1, port: 6432 }
                backend: { host: db.local }
                auth: { source: auth_query, auth_user: pwgate_auth }
                logging: { levels: { root: warn } }
                """, dir, Optional.empty()).logging();
        configurator.apply(loaded);
        context.getLogger("org.pwgate.proxy.startup.StartupHandler").info("c1: session started");
        context.getLogger("org.pwgate.proxy.startup.StartupHandler").warn("c2: something to look at");
        assertFalse(console().contains("session started"), console());
        assertTrue(console().contains("something to look at"), console());
    }

    @Test
    void auditRecordsGoToTheirOwnStreamAsTheyAreAndNotToTheConsole() {
        configurator.apply(new Logging(LogFormat.JSON, DEFAULT_LEVELS, Optional.empty()));
        String record = "{\"time\":\"2025-01-01T00:00:00Z\",\"verdict\":\"refused\"}";
        context.getLogger(LoggingConfigurator.AUDIT_LOGGER).info(record);
        assertEquals(record + "\n", audit().replace("\r\n", "\n"));
        assertEquals("", console());
        assertFalse(context.getLogger(LoggingConfigurator.AUDIT_LOGGER).isAdditive());
    }

    @Test
    void auditRecordsGoToTheAuditFileWhenOneIsSet() throws Exception {
        Path file = dir.resolve("audit.jsonl");
        configurator.apply(new Logging(LogFormat.TEXT, DEFAULT_LEVELS, Optional.of(file)));
        context.getLogger(LoggingConfigurator.AUDIT_LOGGER).info("{\"n\":1}");
        context.getLogger(LoggingConfigurator.AUDIT_LOGGER).info("{\"n\":2}");
        assertEquals(List.of("{\"n\":1}", "{\"n\":2}"), Files.readAllLines(file));
        assertEquals("", audit());
        assertEquals("", console());

        // Muting the audit logger by level works too.
        configurator.apply(new Logging(LogFormat.TEXT, Map.of("root", "info", "pwgate.audit", "off"), Optional.of(file)));
        context.getLogger(LoggingConfigurator.AUDIT_LOGGER).info("{\"n\":3}");
        assertEquals(2, Files.readAllLines(file).size());
    }

    @Test
    void anAuditFileThatCannotBeOpenedFailsLoudly() {
        Path notADir = dir.resolve("plain-file");
        try {
            Files.writeString(notADir, "x");
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> configurator.apply(new Logging(LogFormat.TEXT, DEFAULT_LEVELS, Optional.of(notADir.resolve("audit.jsonl")))));
        assertTrue(e.getMessage().contains("AUDIT"), e.getMessage());
    }
}
