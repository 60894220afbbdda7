package org.pwgate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.PwgateHarness;

/** Limits and protocol edges, seen from a real socket and a real driver. */
class LimitsIT {
    static PwgateHarness pwgate;

    @BeforeAll
    static void start() throws Exception {
        pwgate = PwgateHarness.startYaml(PwgateHarness.baseYaml(false)
                .replace("max_client_connections: 400", "max_client_connections: 5")
                .replace("auth_timeout: 5s", "auth_timeout: 1s"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (pwgate != null) {
            pwgate.close();
        }
    }

    @Test
    void connectionsOverTheLimitGetTooManyClients() throws Exception {
        List<Connection> held = new ArrayList<>();
        try {
            for (int i = 0; i < 5; i++) {
                held.add(pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD));
            }
            SQLException e = assertThrows(SQLException.class,
                    () -> pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD).close());
            assertEquals("53300", e.getSQLState(), e.getMessage());
        } finally {
            for (Connection c : held) {
                c.close();
            }
        }
        // Slots come back when clients leave.
        Thread.sleep(200);
        try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD)) {
            assertTrue(c.isValid(2));
        }
    }

    /** Reads one backend message: tag, then its body. */
    static byte[] readMessage(DataInputStream in, byte[] tagOut) throws IOException {
        tagOut[0] = in.readByte();
        int len = in.readInt();
        byte[] body = new byte[len - 4];
        in.readFully(body);
        return body;
    }

    static String field(byte[] errorBody, char code) {
        int i = 0;
        while (i < errorBody.length && errorBody[i] != 0) {
            int end = i + 1;
            while (errorBody[end] != 0) {
                end++;
            }
            if (errorBody[i] == code) {
                return new String(errorBody, i + 1, end - i - 1, StandardCharsets.UTF_8);
            }
            i = end + 1;
        }
        return null;
    }

    @Test
    void protocolVersionTwoIsRefusedWith08P01() throws Exception {
        try (Socket s = new Socket("127.0.0.1", pwgate.port())) {
            s.setSoTimeout(5000);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeInt(8);
            out.writeInt(2 << 16);
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte[] tag = new byte[1];
            byte[] body = readMessage(in, tag);
            assertEquals('E', tag[0]);
            assertEquals("08P01", field(body, 'C'));
            assertEquals(-1, in.read(), "the connection is closed after the error");
        }
    }

    @Test
    void sslAndGssEncryptionRequestsAreAnsweredNo() throws Exception {
        for (int code : new int[] {80877103, 80877104}) {
            try (Socket s = new Socket("127.0.0.1", pwgate.port())) {
                s.setSoTimeout(5000);
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                out.writeInt(8);
                out.writeInt(code);
                out.flush();
                assertEquals('N', s.getInputStream().read());
            }
        }
    }

    @Test
    void aClientThatNeverAuthenticatesIsClosedAtAuthTimeout() throws Exception {
        try (Socket s = new Socket("127.0.0.1", pwgate.port())) {
            s.setSoTimeout(5000);
            long t0 = System.nanoTime();
            // Say nothing at all: the server must give up after auth_timeout (1 s here).
            DataInputStream in = new DataInputStream(s.getInputStream());
            int first = in.read();
            while (first != -1 && in.read() != -1) {
                // drain an optional error message
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 900 && ms < 4000, "closed after " + ms + " ms");
        }
    }

    @Test
    void anOversizedStartupPacketIsRefused() throws Exception {
        try (Socket s = new Socket("127.0.0.1", pwgate.port())) {
            s.setSoTimeout(5000);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeInt(1_000_000);
            out.writeInt(196608);
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte[] tag = new byte[1];
            byte[] body = readMessage(in, tag);
            assertEquals('E', tag[0]);
            assertEquals("08P01", field(body, 'C'));
        }
    }
}
