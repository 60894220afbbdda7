package org.pwgate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.RawPg;

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

    /** An 8-byte startup-phase packet: length 8 and one code (protocol version or request code). */
    static byte[] packet(int code) {
        byte[] b = new byte[8];
        RawPg.putInt(b, 0, 8);
        RawPg.putInt(b, 4, code);
        return b;
    }

    @Test
    void protocolVersionTwoIsRefusedWith08P01() throws Exception {
        try (RawPg c = RawPg.connect(pwgate.port())) {
            c.send(packet(2 << 16));
            List<RawPg.Msg> got = c.readToEnd(5000); // the connection is closed after the error
            assertEquals(1, got.size(), got.toString());
            assertEquals("08P01", got.get(0).sqlState());
        }
    }

    @Test
    void sslAndGssEncryptionRequestsAreAnsweredNo() throws Exception {
        for (int code : new int[] {80877103, 80877104}) {
            try (RawPg c = RawPg.connect(pwgate.port())) {
                c.send(packet(code));
                assertEquals('N', c.socket.getInputStream().read());
            }
        }
    }

    @Test
    void aClientThatNeverAuthenticatesIsClosedAtAuthTimeout() throws Exception {
        try (RawPg c = RawPg.connect(pwgate.port())) {
            long t0 = System.nanoTime();
            // Say nothing at all: the server must give up after auth_timeout (1 s here).
            c.readToEnd(5000);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 900 && ms < 4000, "closed after " + ms + " ms");
        }
    }

    @Test
    void anOversizedStartupPacketIsRefused() throws Exception {
        try (RawPg c = RawPg.connect(pwgate.port())) {
            byte[] header = packet(196608);
            RawPg.putInt(header, 0, 1_000_000);
            c.send(header);
            RawPg.Msg m = c.read(5000);
            assertEquals("08P01", m.sqlState(), m.toString());
        }
    }
}
