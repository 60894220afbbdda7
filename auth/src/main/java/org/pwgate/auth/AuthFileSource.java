package org.pwgate.auth;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Credentials from a PgBouncer-style userlist: one {@code "user" "password"} line per role,
 * fields in double quotes with {@code ""} for a quote inside, anything after the second field
 * ignored, lines starting with {@code ;} or {@code #} and blank lines skipped. The password is an
 * md5 hash (or plaintext, hashed with the user name at login). Every role may log in and never
 * expires.
 *
 * <p>The file is re-read when its modification time, size or identity changes, checked at each
 * lookup (one stat). A file whose mtime is within {@link #RACY_WINDOW} of when it was read is
 * checked again by content, because an edit in the same second can keep mtime and size (hashes
 * all have the same length). A file that fails to parse on reload is logged and the last good
 * contents stay in use, like the config; at construction it is an error.
 */
public final class AuthFileSource implements CredentialSource {
    private static final Logger log = LoggerFactory.getLogger(AuthFileSource.class);

    static final Duration RACY_WINDOW = Duration.ofSeconds(2);

    private final Path file;
    private final Executor executor;
    private final Clock clock;
    private final Object lock = new Object();
    private Snapshot current;
    private Stamp rejected;

    /** The users of one successful read, and the file stamp they came from. */
    private record Snapshot(Map<String, String> users, Stamp stamp, Instant readAt, String contents) {}

    private record Stamp(Instant modified, long size, Object fileKey) {}

    /**
     * Reads {@code file} now, failing if it cannot be read or parsed. Lookups (and re-reads) run
     * on {@code executor}; pass a blocking-task executor to keep file access off event loops.
     */
    public AuthFileSource(Path file, Executor executor, Clock clock) throws IOException {
        this.file = Objects.requireNonNull(file);
        this.executor = Objects.requireNonNull(executor);
        this.clock = Objects.requireNonNull(clock);
        this.current = read();
    }

    /** Lookups run on the caller's thread: one stat per lookup, a read only when the file changed. */
    public AuthFileSource(Path file) throws IOException {
        this(file, Runnable::run, Clock.systemUTC());
    }

    @Override
    public CompletionStage<Optional<Credential>> lookup(String user) {
        return CompletableFuture.supplyAsync(() -> {
            String password = refreshed().users().get(user);
            return Optional.ofNullable(password).map(p -> new Credential(user, Optional.of(p), true, Optional.empty()));
        }, executor);
    }

    @Override
    public CompletionStage<Boolean> healthy() {
        return CompletableFuture.supplyAsync(() -> Files.isReadable(file), executor);
    }

    /** The number of users currently loaded (for logs and tests). */
    public int size() {
        synchronized (lock) {
            return current.users().size();
        }
    }

    private Snapshot refreshed() {
        synchronized (lock) {
            Stamp stamp;
            try {
                stamp = stamp();
            } catch (IOException e) {
                if (rejected == null) {
                    log.warn("userlist {} cannot be read ({}); keeping the {} users last read", file, e.getClass().getSimpleName(),
                            current.users().size());
                    rejected = new Stamp(Instant.EPOCH, -1, null);
                }
                return current;
            }
            boolean racy = !current.stamp().modified().isBefore(current.readAt().minus(RACY_WINDOW));
            if (stamp.equals(current.stamp()) && !racy) {
                return current;
            }
            if (stamp.equals(rejected)) {
                return current;
            }
            try {
                Snapshot next = read();
                if (!next.contents().equals(current.contents())) {
                    log.info("userlist {} reloaded: {} users", file, next.users().size());
                }
                current = next;
                rejected = null;
            } catch (IOException | AuthSourceException e) {
                log.warn("userlist rejected, keeping the {} users last read: {}", current.users().size(), e.getMessage());
                rejected = stamp;
            }
            return current;
        }
    }

    private Stamp stamp() throws IOException {
        BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
        return new Stamp(a.lastModifiedTime().toInstant(), a.size(), a.fileKey());
    }

    private Snapshot read() throws IOException {
        Instant readAt = clock.instant();
        Stamp before = stamp();
        byte[] bytes = Files.readAllBytes(file);
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new AuthSourceException(file + ": not valid UTF-8");
        }
        return new Snapshot(parse(text, file.toString()), before, readAt, text);
    }

    /**
     * Parses userlist text. Problems name {@code fileName} and the 1-based line, never the line's
     * contents (it holds a password); all of them are reported together.
     */
    public static Map<String, String> parse(String text, String fileName) {
        Map<String, String> users = new HashMap<>();
        Map<String, Integer> firstLine = new HashMap<>();
        List<String> problems = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            int lineNo = i + 1;
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith(";") || line.startsWith("#")) {
                continue;
            }
            Field name = quoted(line, 0);
            if (name == null) {
                problems.add(fileName + " line " + lineNo + ": expected \"user\" \"password\" (both in double quotes)");
                continue;
            }
            int at = name.end();
            if (at >= line.length() || !Character.isWhitespace(line.charAt(at))) {
                problems.add(fileName + " line " + lineNo + ": expected a blank and a quoted password after the user name");
                continue;
            }
            while (at < line.length() && Character.isWhitespace(line.charAt(at))) {
                at++;
            }
            Field password = quoted(line, at);
            if (password == null) {
                problems.add(fileName + " line " + lineNo + ": the password must be in double quotes and closed");
                continue;
            }
            if (name.value().isEmpty()) {
                problems.add(fileName + " line " + lineNo + ": the user name is empty");
                continue;
            }
            Integer previous = firstLine.putIfAbsent(name.value(), lineNo);
            if (previous != null) {
                problems.add(fileName + " line " + lineNo + ": user \"" + name.value() + "\" already defined at line " + previous);
                continue;
            }
            users.put(name.value(), password.value());
        }
        if (!problems.isEmpty()) {
            throw new AuthSourceException(String.join("; ", problems));
        }
        return Map.copyOf(users);
    }

    private record Field(String value, int end) {}

    /** A double-quoted field starting at {@code start}, {@code ""} standing for one quote; null if malformed. */
    private static Field quoted(String line, int start) {
        if (start >= line.length() || line.charAt(start) != '"') {
            return null;
        }
        StringBuilder sb = new StringBuilder();
        int i = start + 1;
        while (i < line.length()) {
            char c = line.charAt(i);
            if (c == '"') {
                if (i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    sb.append('"');
                    i += 2;
                    continue;
                }
                return new Field(sb.toString(), i + 1);
            }
            sb.append(c);
            i++;
        }
        return null;
    }
}
