package dev.appshare.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The class-data archive's training run (scripts/appshare) really carries a request both ways. */
class TrainingTest {
    @Test
    void aRequestGoesThroughTheRelayAndTheDirectPath() throws Exception {
        assertTrue(Training.run(), "the training's requests were not both answered");
    }
}
