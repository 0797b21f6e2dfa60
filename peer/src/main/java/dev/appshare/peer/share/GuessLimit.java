package dev.appshare.peer.share;

import dev.appshare.wire.net.AddressBudget;
import java.net.InetAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * How many times a share lets connectors try its code. Each PAKE is one online guess for a
 * connector that does not know the code, so every attempt spends a token, from its source address's
 * bucket (IPv4 /32, IPv6 /64, as the rendezvous saw it) and from the share's own, and a connector
 * that proves the code gets both back: only wrong codes (and attempts abandoned after the share's
 * confirmation went out) cost anything. Defaults: per address 3 at once, then one per 30 min; per
 * share 10 at once, then one per 4 min. So in 24 hours at most 10 + 360 = 370 guesses reach a share
 * however many addresses guess (docs/threat-model.md has the arithmetic), one address alone cannot
 * hold the share's budget empty (its own refills 7.5 times slower), and when guessing stops the
 * share admits again within one share interval. Not thread-safe: the signalling loop.
 */
public final class GuessLimit {
    /** The limits; tests shorten the intervals. */
    public record Limits(
            int addressBurst, long addressIntervalNanos, int shareBurst, long shareIntervalNanos) {
        public static final Limits DEFAULTS =
                new Limits(3, TimeUnit.MINUTES.toNanos(30), 10, TimeUnit.MINUTES.toNanos(4));
    }

    public enum Verdict {
        /** Run the PAKE; {@link #refund} if the connector proves the code. */
        ADMIT,
        /** This address has tried too many wrong codes lately. */
        ADDRESS_OVER,
        /** The share has seen too many wrong codes lately, from everywhere. */
        SHARE_OVER
    }

    /** Addresses tracked at once (those that owe tokens); past it new ones wait for refills. */
    public static final int MAX_ADDRESSES = 4096;

    private final Limits limits;
    private final LongSupplier nanoTime;
    private final AddressBudget perAddress;
    private long shareSpentUntil; // GCRA: the share's budget is spent up to this time
    private Runnable onShareChange = () -> {}; // share --keep-code keeps the share's budget

    public GuessLimit(Limits limits, LongSupplier nanoTime) {
        this.limits = limits;
        this.nanoTime = nanoTime;
        this.perAddress =
                AddressBudget.perInterval(
                        limits.addressIntervalNanos(),
                        limits.addressBurst(),
                        MAX_ADDRESSES,
                        nanoTime);
        this.shareSpentUntil =
                nanoTime.getAsLong() - limits.shareBurst() * limits.shareIntervalNanos();
    }

    /** Spends a token for one attempt from {@code from}, or says why not. */
    public Verdict tryAttempt(InetAddress from) {
        long now = nanoTime.getAsLong();
        long floor = now - limits.shareBurst() * limits.shareIntervalNanos();
        long spent = Math.max(shareSpentUntil, floor);
        if (spent + limits.shareIntervalNanos() > now) return Verdict.SHARE_OVER;
        if (!perAddress.tryTake(from)) return Verdict.ADDRESS_OVER;
        shareSpentUntil = spent + limits.shareIntervalNanos();
        onShareChange.run();
        return Verdict.ADMIT;
    }

    /** Gives both of an attempt's tokens back: the connector proved the code. */
    public void refund(InetAddress from) {
        perAddress.giveBack(from);
        shareSpentUntil -= limits.shareIntervalNanos();
        onShareChange.run();
    }

    /**
     * The time (on the {@code nanoTime} clock) up to which the share's budget is spent: what a kept
     * code saves, so that a restarted share does not start with a full budget for the same
     * password.
     */
    public long shareSpentUntilNanos() {
        return shareSpentUntil;
    }

    /** Takes on a budget saved by an earlier run of the share (never a larger one than now's). */
    public void restoreShare(long spentUntilNanos) {
        shareSpentUntil = Math.max(shareSpentUntil, spentUntilNanos);
    }

    /** Runs after every change of the share's budget (a spend or a refund), on the same thread. */
    public void onShareChange(Runnable r) {
        onShareChange = r;
    }

    /**
     * What {@link #tryAttempt} would say now, spending nothing: a share asks before it starts a
     * PAKE (so that a refused guesser costs it no work) and spends when it sends its confirmation.
     */
    public Verdict check(InetAddress from) {
        if (shareWaitNanos() > 0) return Verdict.SHARE_OVER;
        if (perAddress.remaining(from) < 1) return Verdict.ADDRESS_OVER;
        return Verdict.ADMIT;
    }

    /** Nanoseconds until the share admits an attempt again (0: now). */
    public long shareWaitNanos() {
        long now = nanoTime.getAsLong();
        long spent =
                Math.max(shareSpentUntil, now - limits.shareBurst() * limits.shareIntervalNanos());
        return Math.max(0, spent + limits.shareIntervalNanos() - now);
    }
}
