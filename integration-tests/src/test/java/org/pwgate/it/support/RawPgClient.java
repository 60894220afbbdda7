package org.pwgate.it.support;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * A minimal PostgreSQL protocol 3.0 client over a plain socket, for what drivers cannot express:
 * reserved names, odd message orders, half-sent messages. It logs in with MD5 and then sends and
 * reads raw messages.
 */
public final class RawPgClient implements AutoCloseable {
    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;

    public record Message(char tag, byte[] body) {
        /** A field of an ErrorResponse or NoticeResponse ('C' SQLSTATE, 'M' message, …), or null. */
        public String field(char code) {
            int i = 0;
            while (i < body.length && body[i] != 0) {
                int end = i + 1;
                while (body[end] != 0) {
                    end++;
                }
                if (body[i] == code) {
                    return new String(body, i + 1, end - i - 1, StandardCharsets.UTF_8);
                }
                i = end + 1;
            }
            return null;
        }

        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private RawPgClient(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = new DataOutputStream(socket.getOutputStream());
    }

    /** Connects and logs in; throws when the login does not end in ReadyForQuery. */
    public static RawPgClient login(int port, String user, String password, String database) throws IOException {
        RawPgClient c = new RawPgClient(new Socket("127.0.0.1", port));
        c.socket.setSoTimeout(10_000);
        ByteArrayOutputStream startup = new ByteArrayOutputStream();
        DataOutputStream s = new DataOutputStream(startup);
        s.writeInt(196608);
        for (String kv : new String[] {"user", user, "database", database}) {
            s.write(kv.getBytes(StandardCharsets.UTF_8));
            s.write(0);
        }
        s.write(0);
        c.out.writeInt(startup.size() + 4);
        c.out.write(startup.toByteArray());
        c.out.flush();
        while (true) {
            Message m = c.read();
            if (m.tag() == 'R') {
                int code = ((m.body()[0] & 0xff) << 24) | ((m.body()[1] & 0xff) << 16) | ((m.body()[2] & 0xff) << 8) | (m.body()[3] & 0xff);
                if (code == 5) {
                    byte[] salt = java.util.Arrays.copyOfRange(m.body(), 4, 8);
                    c.send('p', cstring(md5Response(password, user, salt)));
                } else if (code != 0) {
                    throw new IOException("unexpected authentication request " + code);
                }
            } else if (m.tag() == 'E') {
                throw new IOException("login refused: " + m.field('C') + " " + m.field('M'));
            } else if (m.tag() == 'Z') {
                return c;
            }
        }
    }

    static String md5Response(String password, String user, byte[] salt) {
        try {
            MessageDigest md = MessageDigest.getInstance("MD5");
            String inner = HexFormat.of().formatHex(md.digest((password + user).getBytes(StandardCharsets.UTF_8)));
            md.update(inner.getBytes(StandardCharsets.UTF_8));
            md.update(salt);
            return "md5" + HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static byte[] cstring(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        byte[] r = java.util.Arrays.copyOf(b, b.length + 1);
        return r;
    }

    /** Parse message body: statement name, query, no parameter types. */
    public static byte[] parse(String name, String sql) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(cstring(name));
        b.writeBytes(cstring(sql));
        b.write(0);
        b.write(0);
        return b.toByteArray();
    }

    public void send(char tag, byte[] body) throws IOException {
        out.write(tag);
        out.writeInt(body.length + 4);
        out.write(body);
        out.flush();
    }

    /** Reads the next message; EOFException when the server closed the connection. */
    public Message read() throws IOException {
        int tag = in.read();
        if (tag < 0) {
            throw new EOFException("connection closed");
        }
        int len = in.readInt();
        byte[] body = new byte[len - 4];
        in.readFully(body);
        return new Message((char) tag, body);
    }

    /** True when the server has closed the connection (reads until EOF, skipping messages). */
    public boolean closedByServer() {
        try {
            while (true) {
                read();
            }
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
