package org.pwgate.proxy.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pwgate.classifier.Classifier;
import org.pwgate.classifier.Kind;
import org.pwgate.classifier.LexSettings;
import org.pwgate.config.PwgateConfig;
import org.pwgate.proxy.TestConfigs;

/**
 * Merging the analyses of a name's pending assignments (NameTable's conservative view) stays
 * bounded however many a client pipelines, and what it folds is decided at least as strictly as
 * each analysis it folds.
 */
class AnalysisTest {
    private static final PwgateConfig CONFIG = TestConfigs.embedded(10, Duration.ofSeconds(5));

    private static Analysis of(String sql, boolean changesRole) {
        return new Analysis(List.of(new Analysis.Reading(
                Classifier.classify(sql, LexSettings.DEFAULT).statements().get(0), changesRole)), null);
    }

    @Test
    void identicalAnalysesMergeIntoOneReading() {
        Analysis a = of("ALTER ROLE bob VALID UNTIL 'infinity'", false);
        Analysis merged = a;
        for (int i = 0; i < 1000; i++) {
            merged = Analysis.merge(merged, of("ALTER ROLE bob VALID UNTIL 'infinity'", false));
        }
        assertEquals(1, merged.readings().size());
    }

    @Test
    void manyDistinctAnalysesStayBoundedAndKeepEveryNameUpToTheCap() {
        Analysis merged = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            Analysis m = null;
            for (int i = 0; i < 30_000; i++) {
                m = Analysis.merge(m, of("ALTER ROLE u" + (i % 500) + " CONNECTION LIMIT " + i, false));
            }
            return m;
        });
        assertTrue(merged.readings().size() <= Analysis.MAX_READINGS, merged.readings().size() + " readings");
        List<String> roles = merged.roles();
        assertEquals(500, roles.size(), "500 distinct names, under the cap: all kept");
        assertTrue(merged.kinds().contains(Kind.ROLE_OTHER), merged.kinds().toString());
    }

    @Test
    void pastTheNameCapTheFoldIsTooComplexAndRefusedToEveryone() {
        Analysis merged = null;
        for (int i = 0; i < 5_000; i++) {
            merged = Analysis.merge(merged, of("ALTER ROLE u" + i + " VALID UNTIL 'infinity'", false));
        }
        assertTrue(merged.kinds().contains(Kind.TOO_COMPLEX), merged.kinds().toString());
        Decision d = GatePolicy.decide(merged, CONFIG, "rdsadmin");
        assertEquals(Decision.Action.REFUSE, d.action());
        assertEquals("54001", d.sqlState());
    }

    /** {@code parts} and harmless fillers, one more than MAX_READINGS in all, merged: one folded reading. */
    private static Analysis foldedWithFillers(List<Analysis> parts, boolean fillersChangeRoles) {
        for (int i = parts.size(); i <= Analysis.MAX_READINGS; i++) {
            parts.add(of("ALTER ROLE filler" + i + " CONNECTION LIMIT 3", fillersChangeRoles));
        }
        Analysis merged = null;
        for (Analysis p : parts) {
            merged = Analysis.merge(merged, p);
        }
        assertEquals(1, merged.readings().size(), "folded");
        return merged;
    }

    @Test
    void aFoldIsAtLeastAsStrictAsEachReadingInIt() {
        List<Analysis> parts = new ArrayList<>();
        parts.add(of("ALTER ROLE rdsadmin CONNECTION LIMIT 1", false));         // protected: refused to everyone
        parts.add(of("DROP ROLE rds_password", true));                         // the gate role: refused to everyone
        parts.add(of("ALTER ROLE bob PASSWORD 'md5" + "0".repeat(32) + "'", false)); // guarded
        Analysis merged = foldedWithFillers(parts, false);
        Analysis.Reading folded = merged.readings().get(0);
        assertTrue(folded.changesRole());
        assertTrue(folded.statement().is(Kind.PASSWORD));
        Decision d = GatePolicy.decide(merged, CONFIG, "app");
        assertEquals(Decision.Action.REFUSE, d.action(), d.toString());
        assertEquals("42501", d.sqlState());
        for (Analysis p : parts) {
            Decision single = GatePolicy.decide(p, CONFIG, "app");
            assertTrue(!single.stricterThan(d), single + " is stricter than the fold's " + d);
        }
    }

    @Test
    void aFoldOfAJoinAndAnAlterOfTheGateRoleIsRefused() {
        // CREATE ROLE x IN ROLE rds_password alone is a membership change; folded with an ALTER of
        // the gate role, which target is whose is lost, and the fold must refuse as the ALTER does.
        List<Analysis> parts = new ArrayList<>();
        parts.add(of("CREATE ROLE helper IN ROLE rds_password", true));
        parts.add(of("ALTER ROLE rds_password LOGIN", true));
        Analysis merged = foldedWithFillers(parts, true);
        Decision d = GatePolicy.decide(merged, CONFIG, "postgres");
        assertEquals(Decision.Action.REFUSE, d.action(), d.toString());
        assertEquals(Decision.Action.GUARD, GatePolicy.decide(parts.get(0), CONFIG, "postgres").action());
    }

    @Test
    void conditionalGuardsOfSeveralReadingsAskForEveryRoleJoined() {
        Analysis a = of("GRANT pg_monitor TO app", false);
        Analysis b = of("GRANT rds_superuser TO app", false);
        Decision d = GatePolicy.decide(Analysis.merge(a, b), CONFIG, "app");
        assertEquals(Decision.Action.GUARD, d.action());
        assertEquals(List.of("pg_monitor", "rds_superuser"), d.ifJoining());
    }

    @Test
    void theGateRoleIsNotAlteredUnderCoverOfAMemberList() {
        for (String sql : List.of("ALTER ROLE rds_password WITH LOGIN USER rds_superuser",
                "ALTER ROLE rds_password WITH LOGIN PASSWORD 'pw' USER rds_superuser",
                "ALTER USER rds_superuser LOGIN ROLE app")) {
            Analysis a = of(sql, PasswordCommandGate.changesRole(sql.getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0,
                    Classifier.classify(sql, LexSettings.DEFAULT).statements().get(0).span()));
            Decision d = GatePolicy.decide(a, CONFIG, "postgres");
            assertEquals(Decision.Action.REFUSE, d.action(), sql + ": " + d);
        }
    }
}
