package org.pwgate.it.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.sql.Connection;
import java.util.Map;

/**
 * One row of 200 MB, which pwgate passes on as its bytes come, for tests that hold it up or cut it
 * on its way: the client reads nothing until PostgreSQL is blocked writing it.
 */
public final class StreamedRow {
    public static final String QUERY = "SELECT repeat(repeat('x', 10000), 20000)";
    public static final int VALUE_LENGTH = 200_000_000;

    private StreamedRow() {}

    /**
     * Logs {@code c} in as app under {@code application}, sends {@link #QUERY} and returns once
     * PostgreSQL has sent all that pwgate would take while the client reads nothing.
     */
    public static void startAndBlock(RawPg c, Connection admin, String application) throws Exception {
        c.login(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, Map.of("application_name", application));
        c.send(RawPg.query(QUERY));
        assertEquals("ClientWrite", PgActivity.awaitSendingDone(admin, application),
                "PostgreSQL could send all of the row: pwgate took it in");
    }

    /**
     * Reads the RowDescription and the row to the connection's close, and checks that the row was
     * cut and that what came last is the row's own bytes: nothing was written after them.
     */
    public static void assertCutByTheCloseAlone(RawPg c) throws Exception {
        assertEquals('T', c.read(10_000).tag());
        c.socket.setSoTimeout(30_000);
        DataInputStream in = new DataInputStream(c.socket.getInputStream());
        assertEquals('D', (char) in.readByte());
        assertEquals(4 + 2 + 4 + VALUE_LENGTH, in.readInt());
        byte[] rest = in.readAllBytes(); // to the close
        assertTrue(rest.length < 2 + 4 + VALUE_LENGTH, "the row was cut: " + rest.length + " bytes");
        for (int i = Math.max(6, rest.length - 4096); i < rest.length; i++) {
            assertEquals('x', (char) rest[i], "byte " + i + " of the cut row is not the row's");
        }
    }
}
