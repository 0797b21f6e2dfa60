package dev.appshare.wire.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class RelayTokenTest {
    final RelayToken tokens = new RelayToken(RelayToken.randomSecret(), Clock.systemUTC());

    @Test
    void aMintedTokenChecksUntilItExpires() {
        String t = tokens.mint(60_000);
        assertTrue(t.length() <= RelayToken.MAX_TEXT);
        assertTrue(tokens.check(t) > System.currentTimeMillis());
        assertEquals(-1, tokens.check(tokens.mint(-1)), "expired");
    }

    @Test
    void forgedTamperedAndMalformedTokensFail() {
        RelayToken other = new RelayToken(RelayToken.randomSecret(), Clock.systemUTC());
        assertEquals(-1, tokens.check(other.mint(60_000)), "signed with another secret");
        byte[] raw = Base64.getUrlDecoder().decode(tokens.mint(60_000));
        raw[3] ^= 1; // push the expiry
        assertEquals(
                -1,
                tokens.check(Base64.getUrlEncoder().withoutPadding().encodeToString(raw)),
                "tampered");
        String good = tokens.mint(60_000);
        assertEquals(-1, tokens.check(good + "=="), "padded spelling of a valid token");
        for (String bad : new String[] {"", "x", "!!!!", "A".repeat(200)})
            assertEquals(-1, tokens.check(bad), bad);
    }
}
