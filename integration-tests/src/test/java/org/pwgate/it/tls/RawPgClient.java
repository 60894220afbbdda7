package org.pwgate.it.tls;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * A bare PostgreSQL protocol client over java.net sockets, for what no installed client does:
 * PostgreSQL 17's direct TLS negotiation (TLS first, ALPN "postgresql"), and looking at the
 * certificate a server shows.
 */
final class RawPgClient implements AutoCloseable {
    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private boolean loggedIn;
    /** The key from BackendKeyData, for {@link #cancel}. */
    int processId;
    int secretKey;

    private RawPgClient(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(15_000);
        this.in = new DataInputStream(socket.getInputStream());
        this.out = new DataOutputStream(socket.getOutputStream());
    }

    static SSLContext trusting(Path caFile) throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        try (InputStream is = Files.newInputStream(caFile)) {
            ks.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(is));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /** TLS from the first byte, as libpq's sslnegotiation=direct; {@code alpn} null sends no ALPN. */
    static RawPgClient directTls(int port, SSLContext ctx, String alpn) throws IOException {
        SSLSocket ssl = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port);
        SSLParameters params = ssl.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        if (alpn != null) {
            params.setApplicationProtocols(new String[] {alpn});
        }
        ssl.setSSLParameters(params);
        ssl.startHandshake();
        return new RawPgClient(ssl);
    }

    /** SSLRequest, 'S', then TLS over the same socket: what libpq and pgjdbc do. */
    static RawPgClient viaSslRequest(int port, SSLContext ctx) throws IOException {
        Socket plain = new Socket("127.0.0.1", port);
        plain.setSoTimeout(15_000);
        DataOutputStream o = new DataOutputStream(plain.getOutputStream());
        o.writeInt(8);
        o.writeInt(80877103);
        o.flush();
        int answer = plain.getInputStream().read();
        if (answer != 'S') {
            plain.close();
            throw new IOException("SSLRequest answered " + answer);
        }
        SSLSocket ssl = (SSLSocket) ctx.getSocketFactory().createSocket(plain, "127.0.0.1", port, true);
        SSLParameters params = ssl.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        ssl.setSSLParameters(params);
        ssl.startHandshake();
        return new RawPgClient(ssl);
    }

    X509Certificate serverCertificate() throws IOException {
        return (X509Certificate) ((SSLSocket) socket).getSession().getPeerCertificates()[0];
    }

    String applicationProtocol() {
        return ((SSLSocket) socket).getApplicationProtocol();
    }

    /**
     * StartupMessage, MD5 password, up to ReadyForQuery. Returns the ParameterStatus values seen;
     * throws with the server's message when it sends an ErrorResponse.
     */
    Map<String, String> login(String user, String database, String password) throws Exception {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        DataOutputStream b = new DataOutputStream(body);
        b.writeInt(3 << 16);
        for (String s : new String[] {"user", user, "database", database}) {
            b.write(s.getBytes(StandardCharsets.UTF_8));
            b.write(0);
        }
        b.write(0);
        out.writeInt(body.size() + 4);
        out.write(body.toByteArray());
        out.flush();
        Map<String, String> parameters = new LinkedHashMap<>();
        while (true) {
            Message m = readMessage();
            int tag = m.tag();
            byte[] msg = m.body();
            switch (tag) {
                case 'R' -> {
                    int code = ((msg[0] & 0xff) << 24) | ((msg[1] & 0xff) << 16) | ((msg[2] & 0xff) << 8) | (msg[3] & 0xff);
                    if (code == 5) {
                        byte[] salt = {msg[4], msg[5], msg[6], msg[7]};
                        String inner = md5Hex((password + user).getBytes(StandardCharsets.UTF_8));
                        byte[] saltedInput = concat(inner.getBytes(StandardCharsets.US_ASCII), salt);
                        byte[] response = ("md5" + md5Hex(saltedInput)).getBytes(StandardCharsets.US_ASCII);
                        out.writeByte('p');
                        out.writeInt(response.length + 5);
                        out.write(response);
                        out.write(0);
                        out.flush();
                    } else if (code != 0) {
                        throw new IOException("unexpected authentication request " + code);
                    }
                }
                case 'S' -> {
                    String[] kv = new String(msg, StandardCharsets.UTF_8).split("\0");
                    parameters.put(kv[0], kv.length > 1 ? kv[1] : "");
                }
                case 'E' -> throw new IOException("ErrorResponse: " + new String(msg, StandardCharsets.UTF_8).replace('\0', '|'));
                case 'Z' -> {
                    loggedIn = true;
                    return parameters;
                }
                case 'K' -> {
                    ByteBuffer key = ByteBuffer.wrap(msg);
                    processId = key.getInt();
                    secretKey = key.getInt();
                }
                default -> {
                    // NoticeResponse…: not needed here
                }
            }
        }
    }

    private record Message(int tag, byte[] body) {}

    private Message readMessage() throws IOException {
        int tag = in.read();
        if (tag < 0) {
            throw new EOFException("server closed the connection");
        }
        byte[] body = new byte[in.readInt() - 4];
        in.readFully(body);
        return new Message(tag, body);
    }

    /** Runs {@code sql} with the simple protocol up to ReadyForQuery; the SQLSTATE of its error, or null. */
    String queryError(String sql) throws IOException {
        byte[] text = sql.getBytes(StandardCharsets.UTF_8);
        out.writeByte('Q');
        out.writeInt(text.length + 5);
        out.write(text);
        out.write(0);
        out.flush();
        String sqlState = null;
        while (true) {
            Message m = readMessage();
            if (m.tag() == 'E') {
                for (String field : new String(m.body(), StandardCharsets.UTF_8).split("\0")) {
                    if (field.startsWith("C")) {
                        sqlState = field.substring(1);
                    }
                }
            } else if (m.tag() == 'Z') {
                return sqlState;
            }
        }
    }

    /** Sends a CancelRequest on this (fresh, negotiated) connection and waits for the server to close it. */
    void cancel(int pid, int secret) throws IOException {
        out.writeInt(16);
        out.writeInt(80877102);
        out.writeInt(pid);
        out.writeInt(secret);
        out.flush();
        if (in.read() != -1) {
            throw new IOException("the server answered a CancelRequest");
        }
    }

    /** Terminate if a session exists, then close. */
    @Override
    public void close() throws IOException {
        if (loggedIn) {
            try {
                out.writeByte('X');
                out.writeInt(4);
                out.flush();
            } catch (IOException ignored) {
                // already closed by the server
            }
        }
        socket.close();
    }

    private static String md5Hex(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = new byte[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
