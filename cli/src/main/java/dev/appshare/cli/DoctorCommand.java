package dev.appshare.cli;

import dev.appshare.peer.doctor.DoctorReport;
import dev.appshare.peer.doctor.Findings;
import dev.appshare.peer.doctor.NetworkCheck;
import dev.appshare.wire.net.HostPort;
import java.net.InetSocketAddress;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "doctor",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        header = "Check what this network allows: a direct path, or the relay.",
        description = {
            "Takes a few seconds: UDP to the server, the public address and whether the NAT"
                    + " maps per destination or keeps the port, filtering, hairpinning, the"
                    + " largest UDP payload, IPv6, TCP to the rendezvous and the relay; then one"
                    + " line: what a peer here can expect (direct with whom, or the relay) and"
                    + " why. Exit status 0 when the server answers, 1 when it does not."
        })
final class DoctorCommand implements Callable<Integer> {
    @Option(
            names = "--server",
            paramLabel = "HOST:PORT",
            description = "Rendezvous server (default: $APPSHARE_SERVER, else 127.0.0.1:7000).")
    String server;

    @Option(names = "--json", description = "Print one JSON object instead of the lines.")
    boolean json;

    @Option(
            names = {"-v", "--verbose"},
            description = "Log details, and print stack traces on errors.")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        PeerOptions peer = new PeerOptions();
        peer.server = server;
        InetSocketAddress at = peer.server();
        Findings f = NetworkCheck.run(HostPort.format(at), at);
        if (json) {
            System.out.println(DoctorReport.json(f));
        } else {
            for (String line : DoctorReport.text(f)) System.out.println(line);
        }
        System.out.flush();
        return f.serverReachable() ? 0 : 1;
    }
}
