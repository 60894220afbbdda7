package org.pwgate.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.pwgate.auth.AuthOutcome.Accepted;
import org.pwgate.auth.AuthOutcome.Reason;
import org.pwgate.auth.AuthOutcome.Refused;

class ClientAuthenticatorTest {
    private static final Instant NOW = Instant.parse("2025-01-01T00:00:00Z");
    private static final byte[] SALT = HexFormat.of().parseHex("ff80007f");
    // u / p, as stored by PostgreSQL, and libpq's answer to SALT (see Md5Test).
    private static final String STORED = "md5534b9a3588bdd87bf7c3b9d650e43e46";
    private static final String RIGHT = "md589b5611f6a48a3cfbf0839461bbcd4d8";

    private final ClientAuthenticator auth = new ClientAuthenticator();

    private static Optional<Credential> cred(String stored, boolean canLogin, Optional<Instant> validUntil) {
        return Optional.of(new Credential("u", Optional.ofNullable(stored), canLogin, validUntil));
    }

    private Reason refusal(Optional<Credential> c, String response) {
        AuthOutcome o = auth.authenticate("u", c, SALT, response, NOW);
        assertFalse(o.accepted(), o::toString);
        return ((Refused) o).reason();
    }

    @Test
    void rightPasswordIsAcceptedAndCarriesTheStoredHashForTheBackend() {
        AuthOutcome o = auth.authenticate("u", cred(STORED, true, Optional.empty()), SALT, RIGHT, NOW);
        assertTrue(o.accepted());
        assertEquals(STORED, ((Accepted) o).storedMd5().reveal());
        assertFalse(o.toString().contains(STORED.substring(3)), "the hash must not show in toString: " + o);
    }

    @Test
    void eachRefusalHasItsReason() {
        assertEquals(Reason.UNKNOWN_USER, refusal(Optional.empty(), RIGHT));
        assertEquals(Reason.WRONG_PASSWORD, refusal(cred(STORED, true, Optional.empty()), Md5.clientResponse("q", "u", SALT)));
        assertEquals(Reason.NOLOGIN, refusal(cred(STORED, false, Optional.empty()), RIGHT));
        assertEquals(Reason.EXPIRED, refusal(cred(STORED, true, Optional.of(NOW.minusSeconds(1))), RIGHT));
        assertEquals(Reason.NULL_PASSWORD, refusal(cred(null, true, Optional.empty()), RIGHT));
        assertEquals(Reason.NULL_PASSWORD, refusal(cred("", true, Optional.empty()), RIGHT));
        assertEquals(Reason.SCRAM_PASSWORD, refusal(cred("SCRAM-SHA-256$4096:c2FsdA==$a:b", true, Optional.empty()), RIGHT));
        assertEquals(Reason.MALFORMED_RESPONSE, refusal(cred(STORED, true, Optional.empty()), "p"));
        assertEquals(Reason.MALFORMED_RESPONSE, refusal(cred(STORED, true, Optional.empty()), RIGHT.toUpperCase()));
    }

    @Test
    void validUntilInTheFutureOrExactlyNowStillLogsIn() {
        // PostgreSQL refuses only when valid_until < now.
        assertTrue(auth.authenticate("u", cred(STORED, true, Optional.of(NOW)), SALT, RIGHT, NOW).accepted());
        assertTrue(auth.authenticate("u", cred(STORED, true, Optional.of(NOW.plusSeconds(60))), SALT, RIGHT, NOW).accepted());
        assertEquals(Reason.EXPIRED, refusal(cred(STORED, true, Optional.of(Instant.MIN)), RIGHT));
    }

    @Test
    void wrongPasswordIsReportedBeforeExpiryOrNologin() {
        String wrong = Md5.clientResponse("q", "u", SALT);
        assertEquals(Reason.WRONG_PASSWORD, refusal(cred(STORED, false, Optional.of(NOW.minusSeconds(1))), wrong));
    }

    @Test
    void responseForAnotherSaltIsRefused() {
        assertEquals(Reason.WRONG_PASSWORD, refusal(cred(STORED, true, Optional.empty()),
                Md5.clientResponse("p", "u", HexFormat.of().parseHex("01020304"))));
    }

    @Test
    void plaintextUserlistPasswordIsHashedWithTheUserName() {
        AuthOutcome o = auth.authenticate("u", cred("p", true, Optional.empty()), SALT, RIGHT, NOW);
        assertTrue(o.accepted());
        assertEquals(STORED, ((Accepted) o).storedMd5().reveal(), "the backend gets the md5 hash, not the plaintext");
        assertEquals(Reason.WRONG_PASSWORD, refusal(cred("not-p", true, Optional.empty()), RIGHT));
    }

    @Test
    void theDummyHashNeverLetsAnUnknownUserIn() {
        String dummyResponse = Md5.saltedResponse("md5" + "0".repeat(32), SALT);
        assertEquals(Reason.UNKNOWN_USER, refusal(Optional.empty(), dummyResponse));
        assertEquals(Reason.NULL_PASSWORD, refusal(cred(null, true, Optional.empty()), dummyResponse));
    }

    @Test
    void failureMessageIsPostgresOwn() {
        assertEquals("password authentication failed for user \"app\"", ClientAuthenticator.failureMessage("app"));
        assertEquals("28P01", ClientAuthenticator.FAILURE_SQLSTATE);
    }

    @Test
    void saltsAreFourFreshRandomBytes() {
        ClientAuthenticator a = new ClientAuthenticator(new SecureRandom());
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            byte[] salt = a.newSalt();
            assertEquals(4, salt.length);
            seen.add(HexFormat.of().formatHex(salt));
        }
        assertTrue(seen.size() >= 49, "salts repeat: " + seen.size());
        assertNotEquals(HexFormat.of().formatHex(a.newSalt()), HexFormat.of().formatHex(a.newSalt()));
    }
}
