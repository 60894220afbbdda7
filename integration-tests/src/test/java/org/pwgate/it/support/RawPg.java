package org.pwgate.it.support;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * A PostgreSQL protocol client on a plain socket, for what drivers will not do: send garbage,
 * stop halfway through a login, trickle bytes, vanish mid-result. Every read has a deadline.
 */
public final class RawPg implements AutoCloseable {
    /** One backend message. */
    public record Msg(char tag, byte[] body) {
        public String field(char code) {
            int i = 0;
            while (i < body.length && body[i] != 0) {
                int end = i + 1;
                while (end < body.length && body[end] != 0) {
                    end++;
                }
                if (body[i] == code) {
                    return new String(body, i + 1, end - i - 1, StandardCharsets.UTF_8);
                }
                i = end + 1;
            }
            return null;
        }

        public boolean isError() {
            return tag == 'E';
        }

        public String sqlState() {
            return isError() ? field('C') : null;
        }

        @Override
        public String toString() {
            return isError() ? "E[" + field('S') + " " + field('C') + " " + field('M') + "]" : String.valueOf(tag);
        }
    }

    public final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    private RawPg(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    public static RawPg connect(int port) throws IOException {
        return connect(port, null);
    }

    /** Connects to pwgate on 127.0.0.1, from {@code localAddress} when given (e.g. 127.0.0.2). */
    public static RawPg connect(int port, String localAddress) throws IOException {
        Socket s = new Socket();
        if (localAddress != null) {
            s.bind(new InetSocketAddress(InetAddress.getByName(localAddress), 0));
        }
        s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        s.setTcpNoDelay(true);
        s.setSoTimeout(10_000);
        return new RawPg(s);
    }

    public void send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    public void startup(String user, Map<String, String> params) throws IOException {
        send(startupMessage(user, params));
    }

    /** Startup, answer the MD5 challenge; returns everything up to ReadyForQuery or the error. */
    public List<Msg> login(String user, String password, Map<String, String> params) throws IOException {
        startup(user, params);
        Msg challenge = read(10_000);
        if (challenge.isError()) {
            return List.of(challenge);
        }
        if (challenge.tag() != 'R' || readInt(challenge.body(), 0) != 5) {
            throw new IOException("expected AuthenticationMD5Password, got " + challenge);
        }
        byte[] salt = new byte[4];
        System.arraycopy(challenge.body(), 4, salt, 0, 4);
        send(password(md5Response(user, password, salt)));
        return readUntil(m -> m.tag() == 'Z' || m.isError(), 10_000);
    }

    /** The next message; throws SocketTimeoutException after {@code timeoutMs}, EOFException at end of stream. */
    public Msg read(int timeoutMs) throws IOException {
        socket.setSoTimeout(timeoutMs);
        char tag = (char) (in.readByte() & 0xFF);
        int len = in.readInt();
        if (len < 4 || len > (1 << 26)) {
            throw new IOException("bad length " + len + " for tag " + tag);
        }
        byte[] body = new byte[len - 4];
        in.readFully(body);
        return new Msg(tag, body);
    }

    /**
     * Reads the next message's header and skips its body, of any size; returns the body's length.
     * Fails unless the message is a {@code tag}.
     */
    public long skip(char tag, int timeoutMs) throws IOException {
        socket.setSoTimeout(timeoutMs);
        char got = (char) (in.readByte() & 0xFF);
        long length = (in.readInt() & 0xFFFFFFFFL) - 4;
        if (got != tag) {
            throw new IOException("expected '" + tag + "', got '" + got + "' of " + length + " bytes");
        }
        in.skipNBytes(length);
        return length;
    }

    /** Reads messages until one matches (included); fails at the deadline or end of stream. */
    public List<Msg> readUntil(java.util.function.Predicate<Msg> last, int timeoutMs) throws IOException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        List<Msg> got = new ArrayList<>();
        while (true) {
            int left = (int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000L);
            Msg m = read(left);
            got.add(m);
            if (last.test(m)) {
                return got;
            }
        }
    }

    /**
     * Reads until the server closes the connection; returns what it sent before, or throws
     * SocketTimeoutException when it stays open past the deadline.
     */
    public List<Msg> readToEnd(int timeoutMs) throws IOException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        List<Msg> got = new ArrayList<>();
        while (true) {
            int left = (int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000L);
            try {
                got.add(read(left));
            } catch (EOFException | SocketException e) {
                return got; // closed (or reset after the close)
            }
        }
    }

    /** Closes with an RST instead of a FIN. */
    public void reset() {
        try {
            socket.setSoLinger(true, 0);
            socket.close();
        } catch (IOException ignored) {
            // already gone
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // already gone
        }
    }

    // ------------------------------------------------------------ message builders

    public static byte[] startupMessage(String user, Map<String, String> params) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        writeInt(b, 0);
        writeInt(b, 196608);
        cstring(b, "user");
        cstring(b, user);
        cstring(b, "database");
        cstring(b, "postgres");
        params.forEach((k, v) -> {
            cstring(b, k);
            cstring(b, v);
        });
        b.write(0);
        byte[] out = b.toByteArray();
        putInt(out, 0, out.length);
        return out;
    }

    public static byte[] tagged(char tag, byte[] body) {
        byte[] out = new byte[5 + body.length];
        out[0] = (byte) tag;
        putInt(out, 1, body.length + 4);
        System.arraycopy(body, 0, out, 5, body.length);
        return out;
    }

    /** A CancelRequest carrying the key of {@code backendKeyData}, a 'K' message the server sent. */
    public static byte[] cancelRequest(Msg backendKeyData) {
        byte[] request = new byte[16];
        putInt(request, 0, 16);
        putInt(request, 4, 80877102);
        System.arraycopy(backendKeyData.body(), 0, request, 8, 8);
        return request;
    }

    public static byte[] password(String response) {
        return tagged('p', (response + "\0").getBytes(StandardCharsets.UTF_8));
    }

    public static byte[] query(String sql) {
        return tagged('Q', (sql + "\0").getBytes(StandardCharsets.UTF_8));
    }

    public static byte[] parse(String name, String sql) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        cstring(b, name);
        cstring(b, sql);
        b.write(0);
        b.write(0);
        return tagged('P', b.toByteArray());
    }

    public static byte[] bind(String portal, String statement) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        cstring(b, portal);
        cstring(b, statement);
        for (int i = 0; i < 6; i++) {
            b.write(0); // no format codes, no parameters, no result formats
        }
        return tagged('B', b.toByteArray());
    }

    public static byte[] execute(String portal) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        cstring(b, portal);
        writeInt(b, 0);
        return tagged('E', b.toByteArray());
    }

    public static byte[] sync() {
        return tagged('S', new byte[0]);
    }

    public static byte[] copyData(String text) {
        return tagged('d', text.getBytes(StandardCharsets.UTF_8));
    }

    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return b.toByteArray();
    }

    public static String md5Response(String user, String password, byte[] salt) {
        try {
            MessageDigest md = MessageDigest.getInstance("MD5");
            String inner = HexFormat.of().formatHex(md.digest((password + user).getBytes(StandardCharsets.UTF_8)));
            md.reset();
            md.update(inner.getBytes(StandardCharsets.US_ASCII));
            md.update(salt);
            return "md5" + HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static int readInt(byte[] b, int i) {
        return ((b[i] & 0xFF) << 24) | ((b[i + 1] & 0xFF) << 16) | ((b[i + 2] & 0xFF) << 8) | (b[i + 3] & 0xFF);
    }

    public static void putInt(byte[] b, int i, int v) {
        b[i] = (byte) (v >>> 24);
        b[i + 1] = (byte) (v >>> 16);
        b[i + 2] = (byte) (v >>> 8);
        b[i + 3] = (byte) v;
    }

    private static void writeInt(ByteArrayOutputStream b, int v) {
        b.write(v >>> 24);
        b.write(v >>> 16);
        b.write(v >>> 8);
        b.write(v);
    }

    private static void cstring(ByteArrayOutputStream b, String s) {
        b.writeBytes(s.getBytes(StandardCharsets.UTF_8));
        b.write(0);
    }

    public static boolean isTimeout(Throwable t) {
        return t instanceof SocketTimeoutException;
    }
}
