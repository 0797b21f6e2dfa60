package dev.appshare.rendezvous;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class NameAllocatorTest {
    @Test
    void allocatedNamesFollowThePatternAndAvoidTakenOnes() {
        NameAllocator names = new NameAllocator();
        String n = names.allocate(x -> false);
        assertTrue(n.matches("[a-z]+-[a-z]+-[0-9]{4}"), n);
        assertTrue(NameAllocator.isValid(n));
        assertNull(names.allocate(x -> true), "gives up when every draw is taken");
        assertTrue(
                !NameAllocator.isValid("UPPER-case")
                        && !NameAllocator.isValid("a")
                        && !NameAllocator.isValid("-dash-"));
    }
}
