package dev.appshare.cli;

import picocli.CommandLine.IVersionProvider;

final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = Version.class.getPackage().getImplementationVersion();
        return new String[] {
            "appshare "
                    + (v != null ? v : "0.1.0")
                    + " (Java "
                    + System.getProperty("java.version")
                    + ")"
        };
    }
}
