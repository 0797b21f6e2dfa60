package dev.appshare.wire.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class BasicAuthTest {
    static String header(String userPass) {
        return "Basic "
                + Base64.getEncoder().encodeToString(userPass.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void theHashIsUnpaddedBase64urlOfSha256() {
        String h = BasicAuth.hash("alice:s3cret");
        assertEquals(43, h.length(), "32 bytes, base64 without padding");
        assertTrue(h.matches("[A-Za-z0-9_-]+"), h);
        assertEquals(h, BasicAuth.hash("alice:s3cret"));
        assertNotEquals(h, BasicAuth.hash("alice:s3creT"));
        // SHA-256("") in base64url, a known vector.
        assertEquals("47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", BasicAuth.hash(""));
    }

    @Test
    void onlyTheRightCredentialsMatch() {
        String expected = BasicAuth.hash("alice:s3cret");
        assertTrue(BasicAuth.matches(header("alice:s3cret"), expected));
        assertTrue(BasicAuth.matches("basic " + header("alice:s3cret").substring(6), expected));
        assertTrue(
                BasicAuth.matches(
                        "BASIC   " + header("alice:s3cret").substring(6) + " ", expected));
        assertFalse(BasicAuth.matches(header("alice:wrong"), expected));
        assertFalse(BasicAuth.matches(header("bob:s3cret"), expected));
        assertFalse(BasicAuth.matches(header("alice:s3cret "), expected));
        assertFalse(BasicAuth.matches(null, expected));
        assertFalse(BasicAuth.matches("", expected));
        assertFalse(BasicAuth.matches("Basic", expected));
        assertFalse(BasicAuth.matches("Basic !!!not-base64!!!", expected));
        assertFalse(BasicAuth.matches("Bearer " + header("alice:s3cret").substring(6), expected));
    }

    @Test
    void nonAsciiPasswordsAreUtf8() {
        String expected = BasicAuth.hash("zoë:pässwörd");
        assertTrue(BasicAuth.matches(header("zoë:pässwörd"), expected));
        assertFalse(BasicAuth.matches(header("zoe:passwort"), expected));
    }

    @Test
    void anEmptyHeaderDoesNotMatchTheHashOfNothingUnlessThatIsTheSecret() {
        // A missing header is hashed as no bytes: it matches only a share whose credentials are
        // the empty string, which --public-auth cannot give (it wants user:password).
        assertFalse(BasicAuth.matches(null, BasicAuth.hash("alice:s3cret")));
        assertFalse(BasicAuth.matches(header("alice:s3cret"), "not base64url!"));
    }
}
