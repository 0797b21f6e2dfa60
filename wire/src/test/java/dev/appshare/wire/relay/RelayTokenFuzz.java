package dev.appshare.wire.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.fuzz.Fuzzing;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.GenerationMode;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link RelayToken#check} on generated texts: random text, base64url text of a token's length, and
 * mutations of minted tokens. 100,000 texts, fixed seed. The relay's pairing line carries this
 * text; {@code PairingFuzz} in the relay feeds whole lines.
 */
class RelayTokenFuzz {
    static final Clock CLOCK = Clock.fixed(Instant.ofEpochSecond(1_800_000_000L), ZoneOffset.UTC);
    static final RelayToken TOKENS = new RelayToken(new byte[32], CLOCK);
    static final String MINTED = TOKENS.mint(60_000);

    /**
     * Nothing but the exact text that was minted passes: every other text, however close, is
     * refused with -1, and nothing throws.
     */
    @Property(tries = 100_000, seed = "9301", generation = GenerationMode.RANDOMIZED)
    void onlyTheMintedTextPasses(@ForAll("texts") String text) {
        long expiry = TOKENS.check(text);
        if (text.equals(MINTED)) assertEquals(CLOCK.millis() + 60_000, expiry);
        else assertEquals(-1, expiry, text);
    }

    @Provide
    Arbitrary<String> texts() {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        return Arbitraries.oneOf(
                Arbitraries.strings().ofMaxLength(70),
                Arbitraries.strings().withChars(alphabet + "+/=").ofMinLength(50).ofMaxLength(66),
                Fuzzing.validOrMutated(Arbitraries.just(MINTED.getBytes(StandardCharsets.US_ASCII)))
                        .map(b -> new String(b, StandardCharsets.ISO_8859_1)));
    }

    @Property(tries = 1, seed = "9302")
    void theMintedTokenIsOfTheDocumentedLength() {
        assertTrue(MINTED.length() <= RelayToken.MAX_TEXT);
    }
}
