package dev.appshare.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class HostLabelTest {
    static final String LABEL = "abcdefgh2345";

    @Test
    void aLabelUnderTheDomainInAnyCaseWithOrWithoutPortOrTrailingDot() {
        assertEquals(LABEL, HostLabel.of(LABEL + ".localhost", "localhost"));
        assertEquals(LABEL, HostLabel.of(LABEL + ".localhost:8080", "localhost"));
        assertEquals(LABEL, HostLabel.of("ABCDEFGH2345.LocalHost:80", "localhost"));
        assertEquals(LABEL, HostLabel.of(LABEL + ".localhost.", "localhost"));
        assertEquals(LABEL, HostLabel.of(LABEL + ".localhost.:443", "localhost"));
        assertEquals(LABEL, HostLabel.of(LABEL + ".apps.example.com", "apps.example.com"));
    }

    @Test
    void deeperNamesOtherDomainsAndTheDomainItselfNameNoShare() {
        assertNull(HostLabel.of("x." + LABEL + ".localhost", "localhost"));
        assertNull(HostLabel.of(LABEL + ".example.com", "localhost"));
        assertNull(HostLabel.of(LABEL + ".example.com", "apps.example.com"));
        assertNull(HostLabel.of(LABEL + "localhost", "localhost"));
        assertNull(HostLabel.of("localhost", "localhost"));
        assertNull(HostLabel.of(".localhost", "localhost"));
        assertNull(HostLabel.of(LABEL + ".localhost.evil.example", "localhost"));
    }

    @Test
    void ipLiteralsAreNoShare() {
        assertNull(HostLabel.of("127.0.0.1", "localhost"));
        assertNull(HostLabel.of("127.0.0.1:8080", "localhost"));
        assertNull(HostLabel.of("[::1]", "localhost"));
        assertNull(HostLabel.of("[::1]:8080", "localhost"));
        assertNull(HostLabel.of("::1", "localhost"));
        // A numeric "domain" does not make an address a label either.
        assertNull(HostLabel.of("10.0.0.1", "0.0.1"));
    }

    @Test
    void malformedHostsAndLabelsThatCannotBeOneAreNoShare() {
        assertNull(HostLabel.of(null, "localhost"));
        assertNull(HostLabel.of("", "localhost"));
        assertNull(HostLabel.of(LABEL + ".localhost:", "localhost"), "an empty port");
        assertNull(HostLabel.of(LABEL + ".localhost:80x", "localhost"));
        assertNull(HostLabel.of(LABEL + ".localhost:123456", "localhost"), "a 6-digit port");
        assertNull(HostLabel.of(LABEL + ".localhost:-1", "localhost"));
        assertNull(HostLabel.of("abcdefgh2341.localhost", "localhost"), "1 is not base32");
        assertNull(HostLabel.of("abcdefgh234.localhost", "localhost"), "11 characters");
        assertNull(HostLabel.of("abcdefgh23456.localhost", "localhost"), "13 characters");
        assertNull(HostLabel.of("user@" + LABEL + ".localhost", "localhost"));
        assertNull(HostLabel.of(LABEL + ".localhost:80:80", "localhost"));
        assertNull(HostLabel.of("a".repeat(250) + "." + LABEL + ".localhost", "localhost"));
    }
}
