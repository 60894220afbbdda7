package org.pwgate.it.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.RawPgClient;

/** A client that uses the names the gate reserves for its guard loses its session, with a FATAL. */
class GateFailsClosedIT {
    static PwgateHarness pwgate;

    @BeforeAll
    static void start() throws Exception {
        pwgate = PwgateHarness.start(true);
    }

    @AfterAll
    static void stop() throws Exception {
        pwgate.close();
    }

    @Test
    void aClientStatementNamedLikeTheGuardEndsTheSession() throws Exception {
        try (RawPgClient c = RawPgClient.login(pwgate.port(), PwgateHarness.APP, PwgateHarness.APP_PASSWORD, "postgres")) {
            c.send('P', RawPgClient.parse("pwgate_guard", "SELECT 1"));
            c.send('S', new byte[0]);
            RawPgClient.Message m = c.read();
            assertEquals('E', m.tag(), m.text());
            assertEquals("FATAL", m.field('S'));
            assertEquals("08P01", m.field('C'));
            assertTrue(c.closedByServer());
        }
        // Other sessions are unaffected.
        try (RawPgClient c = RawPgClient.login(pwgate.port(), PwgateHarness.APP, PwgateHarness.APP_PASSWORD, "postgres")) {
            c.send('Q', RawPgClient.cstring("SELECT 1"));
            assertEquals('T', c.read().tag());
        }
    }
}
