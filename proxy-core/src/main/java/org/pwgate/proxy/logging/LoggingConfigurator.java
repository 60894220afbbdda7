package org.pwgate.proxy.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.Encoder;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.pwgate.config.PwgateConfig;
import org.pwgate.config.PwgateConfig.LogFormat;
import org.slf4j.LoggerFactory;

/**
 * Applies {@code logging:} to Logback, at startup and on every reload; applying the same settings
 * twice changes nothing.
 *
 * <pre>
 *   root            -> CONSOLE  stderr, TEXT (readable pattern) or JSON (one object per line)
 *   pwgate.audit    -> AUDIT    stdout, or logging.audit_file; always "%msg%n" because the gate
 *                               renders each audit record as a complete JSON object; additivity off
 *   levels          -> Logger.setLevel per name ("root" is the root logger)
 * </pre>
 *
 * It starts from whatever logback.xml set up and owns from then on the appenders of the root and
 * of the audit logger (it replaces them) and the levels it has been given. A logger whose level
 * leaves the config gets back the level it had before pwgate first set it (logback.xml's).
 * Appenders are swapped by attaching the new one before detaching the old, so no line is lost.
 *
 * <p>JSON lines carry timestamp, level, thread, logger and the formatted message, plus the
 * throwable; not the message pattern's raw arguments (they would repeat the message's data).
 */
public final class LoggingConfigurator {
    public static final String AUDIT_LOGGER = "pwgate.audit";
    static final String CONSOLE = "CONSOLE";
    static final String AUDIT = "AUDIT";
    static final String TEXT_PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{36} - %msg%n";
    static final String AUDIT_PATTERN = "%msg%n";

    private static final org.slf4j.Logger log = LoggerFactory.getLogger(LoggingConfigurator.class);

    private final LoggerContext context;
    private final OutputStream consoleStream;
    private final OutputStream auditStream;
    /** Levels as they were before this configurator first set them (null: inherited). */
    private final Map<String, Level> originalLevels = new HashMap<>();
    private LogFormat installedFormat;
    private Optional<Path> installedAudit;

    /**
     * The configurator for the process's Logback, or empty when SLF4J is bound to something else
     * (then logging is left as it is).
     */
    public static Optional<LoggingConfigurator> forProcess() {
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
            return Optional.of(new LoggingConfigurator(context));
        }
        log.warn("SLF4J is not bound to Logback; the logging: settings are not applied");
        return Optional.empty();
    }

    /** For a given Logback context, writing to stderr (console) and stdout (audit). */
    public LoggingConfigurator(LoggerContext context) {
        this(context, null, null);
    }

    /**
     * {@code consoleStream} and {@code auditStream} replace stderr and stdout when not null (tests
     * capture them that way); the appenders are then plain output-stream appenders.
     */
    LoggingConfigurator(LoggerContext context, OutputStream consoleStream, OutputStream auditStream) {
        this.context = Objects.requireNonNull(context);
        this.consoleStream = consoleStream;
        this.auditStream = auditStream;
    }

    public synchronized void apply(PwgateConfig.Logging logging) {
        if (logging.format() != installedFormat) {
            Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
            replaceAppenders(root, console(logging.format()));
            installedFormat = logging.format();
        }
        if (installedAudit == null || !installedAudit.equals(logging.auditFile())) {
            Logger audit = context.getLogger(AUDIT_LOGGER);
            audit.setAdditive(false);
            replaceAppenders(audit, audit(logging.auditFile()));
            installedAudit = logging.auditFile();
        }
        applyLevels(logging.levels());
    }

    private void applyLevels(Map<String, String> levels) {
        for (Map.Entry<String, String> e : levels.entrySet()) {
            Logger logger = logger(e.getKey());
            originalLevels.putIfAbsent(e.getKey(), logger.getLevel());
            Level level = Level.toLevel(e.getValue().toUpperCase(Locale.ROOT), null);
            if (level == null) {
                continue; // the config module accepts only Logback's level names
            }
            if (!level.equals(logger.getLevel())) {
                logger.setLevel(level);
            }
        }
        Iterator<Map.Entry<String, Level>> it = originalLevels.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, Level> e = it.next();
            if (!levels.containsKey(e.getKey())) {
                Logger logger = logger(e.getKey());
                // The root logger must keep a level; logback.xml always gives it one.
                logger.setLevel(e.getValue() == null && logger.getName().equals(Logger.ROOT_LOGGER_NAME)
                        ? Level.INFO : e.getValue());
                it.remove();
            }
        }
    }

    private Logger logger(String name) {
        return context.getLogger(name.equalsIgnoreCase("root") ? Logger.ROOT_LOGGER_NAME : name);
    }

    private Appender<ILoggingEvent> console(LogFormat format) {
        Encoder<ILoggingEvent> encoder = format == LogFormat.JSON ? json() : pattern(TEXT_PATTERN);
        OutputStreamAppender<ILoggingEvent> appender;
        if (consoleStream != null) {
            appender = new OutputStreamAppender<>();
            appender.setOutputStream(consoleStream);
        } else {
            ConsoleAppender<ILoggingEvent> c = new ConsoleAppender<>();
            c.setTarget("System.err");
            appender = c;
        }
        return start(appender, CONSOLE, encoder);
    }

    private Appender<ILoggingEvent> audit(Optional<Path> file) {
        OutputStreamAppender<ILoggingEvent> appender;
        if (file.isPresent()) {
            FileAppender<ILoggingEvent> f = new FileAppender<>();
            f.setFile(file.get().toString());
            f.setAppend(true);
            f.setPrudent(false);
            appender = f;
        } else if (auditStream != null) {
            appender = new OutputStreamAppender<>();
            appender.setOutputStream(auditStream);
        } else {
            ConsoleAppender<ILoggingEvent> c = new ConsoleAppender<>();
            c.setTarget("System.out");
            appender = c;
        }
        return start(appender, AUDIT, pattern(AUDIT_PATTERN));
    }

    private Appender<ILoggingEvent> start(OutputStreamAppender<ILoggingEvent> appender, String name,
                                          Encoder<ILoggingEvent> encoder) {
        appender.setContext(context);
        appender.setName(name);
        appender.setEncoder(encoder);
        appender.start();
        if (!appender.isStarted()) {
            // Logback reports why on its status list (e.g. an audit_file folder that is not writable).
            throw new IllegalStateException("cannot start the " + name + " log appender: " + lastStatus());
        }
        return appender;
    }

    private Encoder<ILoggingEvent> pattern(String pattern) {
        PatternLayoutEncoder e = new PatternLayoutEncoder();
        e.setContext(context);
        e.setPattern(pattern);
        e.setCharset(java.nio.charset.StandardCharsets.UTF_8);
        e.start();
        return e;
    }

    private Encoder<ILoggingEvent> json() {
        JsonEncoder e = new JsonEncoder();
        e.setContext(context);
        e.setWithSequenceNumber(false);
        e.setWithNanoseconds(false);
        e.setWithContext(false);
        e.setWithMDC(false);
        e.setWithKVPList(true);
        e.setWithMessage(false);
        e.setWithArguments(false);
        e.setWithFormattedMessage(true);
        e.start();
        return e;
    }

    private String lastStatus() {
        var list = context.getStatusManager().getCopyOfStatusList();
        return list.isEmpty() ? "no reason given" : list.get(list.size() - 1).getMessage();
    }

    /** Attaches {@code fresh}, then detaches and stops every other appender of {@code logger}. */
    private static void replaceAppenders(Logger logger, Appender<ILoggingEvent> fresh) {
        List<Appender<ILoggingEvent>> old = new ArrayList<>();
        logger.iteratorForAppenders().forEachRemaining(old::add);
        logger.addAppender(fresh);
        for (Appender<ILoggingEvent> a : old) {
            logger.detachAppender(a);
            a.stop();
        }
    }
}
