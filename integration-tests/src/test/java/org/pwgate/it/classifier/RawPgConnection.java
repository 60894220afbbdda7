package org.pwgate.it.classifier;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal protocol-3 client (trust authentication, simple Query only). The differential test
 * needs to send the corpus bytes exactly as written, in any client_encoding; pgjdbc always sends
 * UTF-8 and parses the SQL itself, so it would not test what the server does with the raw bytes.
 */
final class RawPgConnection implements Closeable {
    /** Rows as text (UTF-8), the error of the query if any, and the transaction status after it. */
    record Result(List<List<String>> rows, String sqlState, String message, char transactionStatus) {
        boolean ok() {
            return sqlState == null;
        }
    }

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    RawPgConnection(String host, int port, String user, String database) throws IOException {
        socket = new Socket(host, port);
        socket.setSoTimeout(30_000);
        in = new DataInputStream(new java.io.BufferedInputStream(socket.getInputStream()));
        out = new java.io.BufferedOutputStream(socket.getOutputStream());
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        writeInt(body, 196608);
        for (String s : new String[] {"user", user, "database", database, "client_encoding", "UTF8"}) {
            body.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            body.write(0);
        }
        body.write(0);
        writeInt(out, body.size() + 4);
        body.writeTo(out);
        out.flush();
        Result r = readUntilReady();
        if (!r.ok()) {
            throw new IOException("startup failed: " + r.sqlState() + " " + r.message());
        }
    }

    Result query(String sql) throws IOException {
        return query(sql.getBytes(StandardCharsets.UTF_8));
    }

    Result query(byte[] sql) throws IOException {
        out.write('Q');
        writeInt(out, sql.length + 5);
        out.write(sql);
        out.write(0);
        out.flush();
        return readUntilReady();
    }

    private Result readUntilReady() throws IOException {
        List<List<String>> rows = new ArrayList<>();
        String state = null;
        String message = null;
        while (true) {
            int type = in.readUnsignedByte();
            int len = in.readInt() - 4;
            byte[] body = new byte[len];
            in.readFully(body);
            switch (type) {
                case 'R' -> {
                    int code = ((body[0] & 0xff) << 24) | ((body[1] & 0xff) << 16) | ((body[2] & 0xff) << 8) | (body[3] & 0xff);
                    if (code != 0) {
                        throw new IOException("the test server must trust 127.0.0.1, got authentication request " + code);
                    }
                }
                case 'D' -> rows.add(dataRow(body));
                case 'E' -> {
                    int p = 0;
                    while (p < body.length && body[p] != 0) {
                        byte field = body[p++];
                        int e = p;
                        while (body[e] != 0) {
                            e++;
                        }
                        String v = new String(body, p, e - p, StandardCharsets.UTF_8);
                        if (field == 'C') {
                            state = v;
                        } else if (field == 'M') {
                            message = v;
                        }
                        p = e + 1;
                    }
                }
                case 'Z' -> {
                    return new Result(rows, state, message, (char) body[0]);
                }
                default -> { } // T, C, I, N, S, K: nothing to keep
            }
        }
    }

    private static List<String> dataRow(byte[] b) {
        int n = ((b[0] & 0xff) << 8) | (b[1] & 0xff);
        List<String> row = new ArrayList<>(n);
        int p = 2;
        for (int i = 0; i < n; i++) {
            int len = ((b[p] & 0xff) << 24) | ((b[p + 1] & 0xff) << 16) | ((b[p + 2] & 0xff) << 8) | (b[p + 3] & 0xff);
            p += 4;
            if (len < 0) {
                row.add(null);
            } else {
                row.add(new String(b, p, len, StandardCharsets.UTF_8));
                p += len;
            }
        }
        return row;
    }

    private static void writeInt(OutputStream o, int v) throws IOException {
        o.write(v >>> 24);
        o.write(v >>> 16);
        o.write(v >>> 8);
        o.write(v);
    }

    @Override
    public void close() throws IOException {
        try {
            out.write('X');
            writeInt(out, 4);
            out.flush();
        } finally {
            socket.close();
        }
    }
}
