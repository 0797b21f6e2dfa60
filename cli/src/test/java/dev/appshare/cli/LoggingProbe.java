package dev.appshare.cli;

import org.slf4j.LoggerFactory;

/**
 * Run in its own JVM by StatusLineTest: configures logging as {@code appshare} does (args: verbose,
 * quiet), then logs as ice4j (through java.util.logging, as jitsi-utils does), as netty and as
 * appshare, one marker each, so the test can see which reach stderr.
 */
public final class LoggingProbe {
    private LoggingProbe() {}

    public static void main(String[] args) {
        Logging.configure(Boolean.parseBoolean(args[0]), Boolean.parseBoolean(args[1]));
        java.util.logging.Logger.getLogger("org.ice4j.ice.Agent").warning("ICE4J-JUL-WARNING");
        LoggerFactory.getLogger("org.ice4j.stack.StunStack").warn("ICE4J-SLF4J-WARNING");
        LoggerFactory.getLogger("io.netty.channel.DefaultChannelPipeline").warn("NETTY-WARNING");
        LoggerFactory.getLogger("dev.appshare.peer.Probe").info("APPSHARE-INFO");
        LoggerFactory.getLogger("dev.appshare.peer.Probe").warn("APPSHARE-WARNING");
    }
}
