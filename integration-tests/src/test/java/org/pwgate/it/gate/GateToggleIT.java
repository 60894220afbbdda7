package org.pwgate.it.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.PwgateHarness;

/**
 * rds.restrict_password_commands from 0 to 1 between two runs (two pwgate configs: a live reload
 * is tested with issue 6). With 0 pwgate is a plain relay; with 1 the same statement is refused.
 */
class GateToggleIT {

    @Test
    void theSameStatementRunsWithZeroAndIsRefusedWithOne() throws Exception {
        for (boolean restrict : new boolean[] {false, true}) {
            try (PwgateHarness h = PwgateHarness.start(restrict)) {
                GateRoles.create(h);
                try (Connection c = h.connect(GateRoles.NON_MEMBER, GateRoles.PASSWORD); Statement s = c.createStatement()) {
                    if (restrict) {
                        SQLException e = assertThrows(SQLException.class, () -> s.execute("ALTER ROLE victim VALID UNTIL '2020-01-01'"));
                        assertEquals("42501", e.getSQLState());
                        assertEquals("ERROR: " + PasswordGateIT.REFUSAL, e.getMessage());
                    } else {
                        s.execute("ALTER ROLE victim VALID UNTIL '2020-01-01'");
                        s.execute("ALTER ROLE victim PASSWORD 'x'");
                    }
                }
            }
        }
    }
}
