package dev.appshare.cli;

/** The main class of the stand-in jar LauncherTest runs scripts/appshare on. */
public final class LauncherHello {
    private LauncherHello() {}

    public static void main(String[] args) {
        System.out.println("hello " + String.join(" ", args));
        String extra = System.getProperty("launcher.extra");
        if (extra != null) System.out.println("extra " + extra);
    }
}
