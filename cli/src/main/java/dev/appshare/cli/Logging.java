package dev.appshare.cli;

import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * Configures slf4j-simple before any logger exists: one line per user-visible event at INFO on
 * stderr, details at DEBUG with --verbose, warnings and errors alone with --quiet. Libraries' own
 * warnings stay off the terminal unless --verbose: netty's and ice4j's at ERROR (netty's warnings
 * are about our use of it; ice4j warns about candidates and pairs in normal operation; our own
 * lines say what the user needs). java.util.logging (ice4j's, through jitsi-utils) is routed into
 * slf4j, its root at SEVERE unless --verbose, so that its warnings are dropped before they are even
 * formatted.
 */
final class Logging {
    private Logging() {}

    static void configure(boolean verbose) {
        configure(verbose, false);
    }

    static void configure(boolean verbose, boolean quiet) {
        quiet &= !verbose;
        set("org.slf4j.simpleLogger.defaultLogLevel", quiet ? "warn" : "info");
        set("org.slf4j.simpleLogger.log.dev.appshare", verbose ? "debug" : quiet ? "warn" : "info");
        set("org.slf4j.simpleLogger.log.io.netty", verbose ? "info" : "error");
        set("org.slf4j.simpleLogger.log.org.ice4j", verbose ? "info" : "error");
        set("org.slf4j.simpleLogger.log.org.jitsi", verbose ? "info" : "error");
        set("org.slf4j.simpleLogger.showDateTime", "true");
        set("org.slf4j.simpleLogger.dateTimeFormat", "HH:mm:ss.SSS");
        set("org.slf4j.simpleLogger.showThreadName", verbose ? "true" : "false");
        set("org.slf4j.simpleLogger.showShortLogName", "true");
        set("org.slf4j.simpleLogger.levelInBrackets", "true");
        LogManager.getLogManager().reset();
        SLF4JBridgeHandler.install();
        Logger.getLogger("").setLevel(verbose ? Level.INFO : Level.SEVERE);
    }

    private static void set(String key, String value) {
        if (System.getProperty(key) == null) System.setProperty(key, value);
    }
}
