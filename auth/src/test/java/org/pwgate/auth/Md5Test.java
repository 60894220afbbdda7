package org.pwgate.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * Fixtures produced by PostgreSQL 17.6 itself (the embedded server of proxy-core, UTF8, psql with
 * PGCLIENTENCODING=UTF8):
 * <pre>
 *   SET password_encryption = 'md5'; CREATE ROLE "Ünïcødé" PASSWORD 'pässwörd€'; …
 *   SELECT rolname, rolpassword FROM pg_authid WHERE …;
 *   -- salted responses, computed by the server over the stored hash and the raw salt bytes:
 *   SELECT 'md5' || md5(convert_to(substr(rolpassword, 4), 'UTF8') || decode('ff80007f', 'hex')) FROM pg_authid WHERE …;
 * </pre>
 */
class Md5Test {
    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "u|p|md5534b9a3588bdd87bf7c3b9d650e43e46",
            "rdsadmin|rdsadmin-demo|md57de054009005af3306e4227fcd535166",
            "postgres|postgres-demo|md55cbcd317e4d8ba03f45e0bb4531ff22b",
            "app|app-demo|md5e08b2c8712c081b1c1f342567fb32565",
            "Ünïcødé|pässwörd€|md51d51b527420c30c424dd424d87db58d7",
            "用户|密码🔑|md5e42113a78e2d7fd2de86c24cf4142a58",
            "quote\"d|it's|md59d131e93f348e0898d8d48402067295d",
            "emptyish|` `|md513ad1779478accfef8ebc7e2cff883af"})
    void hashMatchesWhatPostgresStores(String user, String password, String stored) {
        assertEquals(stored, Md5.hash(password, user));
        assertTrue(Md5.isMd5Hash(stored));
    }

    @ParameterizedTest
    @CsvSource({
            "md5534b9a3588bdd87bf7c3b9d650e43e46,01020304,md5facdc455923b0a58efea84a6d9ee0e76",
            "md5534b9a3588bdd87bf7c3b9d650e43e46,ff80007f,md589b5611f6a48a3cfbf0839461bbcd4d8",
            "md51d51b527420c30c424dd424d87db58d7,01020304,md585e92c713fb8b392cd07aaca2d837ae2",
            "md51d51b527420c30c424dd424d87db58d7,ff80007f,md5d4a2f41f3ea8564cd95b9b9721c3d433",
            "md5e42113a78e2d7fd2de86c24cf4142a58,01020304,md580215027bfbaabfc2722966e5936e551",
            "md5e42113a78e2d7fd2de86c24cf4142a58,ff80007f,md560dc917d19727b15c8bcdec8da4a807c"})
    void saltedResponseMatchesPostgres(String stored, String saltHex, String response) {
        assertEquals(response, Md5.saltedResponse(stored, HexFormat.of().parseHex(saltHex)));
    }

    @Test
    void clientResponseIsTheSaltedResponseOfThePasswordsHash() {
        assertEquals("md589b5611f6a48a3cfbf0839461bbcd4d8", Md5.clientResponse("p", "u", HexFormat.of().parseHex("ff80007f")));
        assertEquals("md560dc917d19727b15c8bcdec8da4a807c",
                Md5.clientResponse("密码🔑", "用户", HexFormat.of().parseHex("ff80007f")));
    }

    @Test
    void verifyComparesExactly() {
        assertTrue(Md5.verify("md5facdc455923b0a58efea84a6d9ee0e76", "md5facdc455923b0a58efea84a6d9ee0e76"));
        assertFalse(Md5.verify("md5facdc455923b0a58efea84a6d9ee0e76", "md5facdc455923b0a58efea84a6d9ee0e77"));
        assertFalse(Md5.verify("md5facdc455923b0a58efea84a6d9ee0e76", "MD5FACDC455923B0A58EFEA84A6D9EE0E76"));
        assertFalse(Md5.verify("md5facdc455923b0a58efea84a6d9ee0e76", "md5facdc455923b0a58efea84a6d9ee0e7"));
        assertFalse(Md5.verify("md5facdc455923b0a58efea84a6d9ee0e76", null));
    }

    @Test
    void isMd5HashWantsLowercaseHexOfTheRightLength() {
        assertFalse(Md5.isMd5Hash("md5534B9A3588BDD87BF7C3B9D650E43E46"));
        assertFalse(Md5.isMd5Hash("md5534b9a3588bdd87bf7c3b9d650e43e4"));
        assertFalse(Md5.isMd5Hash("xyz534b9a3588bdd87bf7c3b9d650e43e46"));
        assertFalse(Md5.isMd5Hash("SCRAM-SHA-256$4096:abc"));
        assertFalse(Md5.isMd5Hash(null));
    }

    @Test
    void saltedResponseRefusesWhatIsNotAnMd5HashOrA4ByteSalt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Md5.saltedResponse("plaintext-secret", new byte[4]));
        assertFalse(e.getMessage().contains("plaintext-secret"));
        assertThrows(IllegalArgumentException.class,
                () -> Md5.saltedResponse("md5534b9a3588bdd87bf7c3b9d650e43e46", new byte[3]));
    }
}
