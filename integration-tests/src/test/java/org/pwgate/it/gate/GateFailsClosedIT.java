package org.pwgate.it.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.RawPg;
import java.util.Map;

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
        try (RawPg c = RawPg.connect(pwgate.port())) {
            assertEquals('Z', last(c.login(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, Map.of())).tag());
            c.send(RawPg.concat(RawPg.parse("pwgate_guard", "SELECT 1"), RawPg.sync()));
            RawPg.Msg m = c.read(5000);
            assertEquals('E', m.tag(), m.toString());
            assertEquals("FATAL", m.field('S'));
            assertEquals("08P01", m.field('C'));
            c.readToEnd(5000); // and the server closes the connection
        }
        // Other sessions are unaffected.
        try (RawPg c = RawPg.connect(pwgate.port())) {
            assertEquals('Z', last(c.login(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, Map.of())).tag());
            c.send(RawPg.query("SELECT 1"));
            assertEquals('T', c.read(5000).tag());
        }
    }

    private static RawPg.Msg last(java.util.List<RawPg.Msg> msgs) {
        return msgs.get(msgs.size() - 1);
    }
}
