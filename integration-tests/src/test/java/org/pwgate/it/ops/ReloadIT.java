package org.pwgate.it.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.pwgate.config.PwgateConfig;
import org.pwgate.it.support.PwgateHarness;

/**
 * Config reload through a running pwgate: the file is edited while sessions stay open, and the
 * next statement of an open session obeys the new rds.restrict_password_commands.
 */
class ReloadIT {
    static final String ALTER_OWN_PASSWORD = "ALTER ROLE app PASSWORD '" + PwgateHarness.APP_PASSWORD + "'";
    static final Duration RELOAD_WITHIN = Duration.ofSeconds(15);
    static int adminPort;
    static PwgateHarness pwgate;
    static Path file;

    static String yaml(String restrict) {
        return PwgateHarness.baseYaml(false).replace("rds.restrict_password_commands: 0",
                "rds.restrict_password_commands: " + restrict) + Ops.adminYaml(adminPort);
    }

    @BeforeAll
    static void start() throws Exception {
        adminPort = Ops.freePort();
        pwgate = PwgateHarness.startYaml(yaml("0"));
        file = pwgate.configFile().orElseThrow();
    }

    @AfterAll
    static void stop() throws Exception {
        if (pwgate != null) {
            pwgate.close();
        }
    }

    @BeforeEach
    void restrictionOff() throws Exception {
        setRestriction("0", false);
    }

    static void setRestriction(String spelling, boolean expected) throws Exception {
        if (pwgate.server().config().parameters().restrictPasswordCommands() != expected) {
            Ops.rewrite(file, yaml(spelling));
            Ops.await("restriction " + expected + " published", RELOAD_WITHIN,
                    () -> pwgate.server().config().parameters().restrictPasswordCommands() == expected);
        }
    }

    @Test
    void restrictionToggledByReloadAppliesToTheNextStatementOfAnOpenSession() throws Exception {
        try (Connection app = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD)) {
            int pid = Ops.backendPid(app);
            Ops.execute(app, ALTER_OWN_PASSWORD);

            setRestriction("on", true);
            SQLException refused = assertThrows(SQLException.class, () -> Ops.execute(app, ALTER_OWN_PASSWORD));
            assertEquals("42501", refused.getSQLState());
            assertTrue(refused.getMessage().contains("must be a member of rds_password to alter passwords"),
                    refused.getMessage());

            setRestriction("off", false);
            Ops.execute(app, ALTER_OWN_PASSWORD);

            assertEquals(pid, Ops.backendPid(app), "the same backend session all along: nothing was dropped");
        }
        // The user still logs in with the password it set for itself.
        try (Connection again = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD)) {
            assertTrue(again.isValid(2));
        }
    }

    @Test
    void anInvalidFileIsRejectedAndTheRunningConfigStays() throws Exception {
        setRestriction("1", true);
        PwgateConfig before = pwgate.server().config();
        double invalidBefore = Ops.metric(adminPort, "pwgate_config_reloads_total{outcome=\"invalid\"}");
        try (Connection app = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD)) {
            // A typo in the value and an unknown key: both are errors, nothing is applied.
            Ops.rewrite(file, yaml("maybe") + "colour: blue\n");
            Ops.await("the invalid reload counted", RELOAD_WITHIN,
                    () -> Ops.metric(adminPort, "pwgate_config_reloads_total{outcome=\"invalid\"}") > invalidBefore);
            assertSame(before, pwgate.server().config());
            SQLException refused = assertThrows(SQLException.class, () -> Ops.execute(app, ALTER_OWN_PASSWORD));
            assertEquals("42501", refused.getSQLState());

            // And the next valid file applies as usual.
            Ops.rewrite(file, yaml("0"));
            Ops.await("valid file applied", RELOAD_WITHIN,
                    () -> !pwgate.server().config().parameters().restrictPasswordCommands());
            Ops.execute(app, ALTER_OWN_PASSWORD);
        }
    }

    static double reloads() throws Exception {
        String s = Ops.scrape(adminPort);
        return Ops.metric(s, "pwgate_config_reloads_total{outcome=\"unchanged\"}")
                + Ops.metric(s, "pwgate_config_reloads_total{outcome=\"applied\"}");
    }

    @Test
    void aChangeThatNeedsARestartIsNotApplied() throws Exception {
        int listenPort = pwgate.port();
        // "unchanged", or "applied" when the parameter's spelling differs from the running file's.
        double before = reloads();
        Ops.rewrite(file, yaml("0").replace("listen: { host: 127.0.0.1, port: 0 }", "listen: { host: 127.0.0.1, port: 1 }"));
        Ops.await("the reload counted", RELOAD_WITHIN, () -> reloads() > before);
        assertEquals(0, pwgate.server().config().listen().port());
        assertEquals(listenPort, pwgate.port());
        try (Connection app = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD)) {
            assertTrue(app.isValid(2));
        }
        Ops.rewrite(file, yaml("0"));
        assertFalse(pwgate.server().config().parameters().restrictPasswordCommands());
    }
}
