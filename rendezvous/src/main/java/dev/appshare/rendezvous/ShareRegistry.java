package dev.appshare.rendezvous;

import dev.appshare.wire.net.AddressBudget;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.channel.Channel;
import java.net.InetAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * Live shares by name and the sessions between each share and its connectors. Names are unique
 * among live shares. A name belongs to the key its share proved ({@code owner}, the key's
 * fingerprint): when the share's control connection closes the name stays reserved for that key for
 * {@link RendezvousProtocol#NAME_RESERVATION_MILLIS}, so that the share gets it back when it
 * reconnects and nobody else can take it meanwhile.
 *
 * <p>Each live share and each reservation holds one of its address's live-share budget slots
 * ({@code take} / {@code release}, {@link ClientBudgets}), so reservations are bounded per address
 * like live shares, and in all by {@link #MAX_RESERVATIONS}. An owner taking its name back from the
 * address it left from keeps the slot its reservation (or its stale registration) held, so a share
 * that reconnects after a network blip is never refused for the slot it already holds.
 * Synchronized: control connections live on several event loops.
 *
 * <p>Session ids are 64 random bits (lower-case hex, {@link RendezvousProtocol#SESSION_PATTERN}),
 * unique among live sessions. Not a counter: tunnels outlive a server restart (the direct path, or
 * a standalone relay) and keep their ids, and a share keys its sessions by id, so a restarted
 * server must not hand out an id it handed out before. Random ids are also unguessable.
 */
public final class ShareRegistry {
    /**
     * A registered share: its control channel, its key's fingerprint, and its address; for a public
     * share (REGISTER {@code public=1} on a server with a gateway) its URL's label and the
     * credentials' hash visitors must match (null: none asked), else both null.
     */
    public record Share(
            String name,
            Channel channel,
            String owner,
            InetAddress from,
            String label,
            String auth) {
        public Share(String name, Channel channel, String owner, InetAddress from) {
            this(name, channel, owner, from, null, null);
        }

        public boolean isPublic() {
            return label != null;
        }
    }

    /**
     * A name kept for its owner after the share's control connection closed; a public share's label
     * with it, so the gateway can tell "offline" from "no such share".
     */
    private record Reservation(String owner, InetAddress from, long expiresAt, String label) {}

    /** Reservations held at once, at most; past it a leaving share's name is freed at once. */
    public static final int MAX_RESERVATIONS = 65_536;

    /** A connector's request to a share, kept while both control connections live (for SIGNAL). */
    public record Session(
            String id, Share share, Channel connector, AtomicInteger[] signalsForwarded) {
        Session(String id, Share share, Channel connector) {
            this(
                    id,
                    share,
                    connector,
                    new AtomicInteger[] {new AtomicInteger(), new AtomicInteger()});
        }

        public Channel other(Channel from) {
            return from == connector ? share.channel() : connector;
        }

        /**
         * Counts one SIGNAL from {@code from}; false past {@link
         * RendezvousProtocol#MAX_SIGNALS_PER_SESSION} in that direction (the server drops it).
         */
        public boolean countSignal(Channel from) {
            AtomicInteger n = signalsForwarded[from == connector ? 0 : 1];
            return n.incrementAndGet() <= RendezvousProtocol.MAX_SIGNALS_PER_SESSION;
        }
    }

    private final Map<String, Share> byName = new HashMap<>();
    // Live public shares by label; reserved names' labels (label -> name) while they are reserved.
    private final Map<String, Share> byLabel = new HashMap<>();
    private final Map<String, String> reservedLabels = new HashMap<>();
    // In the order they were made, which (one lifetime for all) is the order they expire in.
    private final LinkedHashMap<String, Reservation> reserved = new LinkedHashMap<>();
    private final Map<String, Session> sessions = new HashMap<>();
    // Indexes of the sessions above, so that open and drop touch only the sessions involved: by
    // the share's control channel (at most maxSessionsPerShare each), and by connector (one each).
    private final Map<Channel, Map<String, Session>> byShare = new HashMap<>();
    private final Map<Channel, Session> byConnector = new HashMap<>();
    private final NameAllocator names;
    private final int maxSessionsPerShare;
    private final RandomGenerator sessionIds;
    private final LongSupplier nanoTime;
    private final long reservationNanos;
    private final Predicate<InetAddress> take;
    private final Consumer<InetAddress> release;
    private final int maxReservations;
    // Replaced registrations whose budget slot passed to the registration that replaced them:
    // their drop gives none back. Each leaves when its (closing) connection's drop comes.
    private final Set<Share> slotPassedOn = new HashSet<>();
    private long visited; // sessions looked at by open and drop, for tests

    /** Shares registered now (reservations not counted). */
    public synchronized int liveShares() {
        return byName.size();
    }

    /** Sessions (a connector paired with a share through this server) open now. */
    public synchronized int liveSessions() {
        return sessions.size();
    }

    synchronized long testOnlySessionsVisited() {
        return visited;
    }

    /**
     * @param take takes one of an address's live-share budget slots for a new share; false if it
     *     has none left
     * @param release gives one back: a share left without a reservation, or a reservation ended
     *     (expired, or taken back by its owner from another address)
     */
    public ShareRegistry(
            int maxSessionsPerShare,
            LongSupplier nanoTime,
            Predicate<InetAddress> take,
            Consumer<InetAddress> release) {
        this(
                maxSessionsPerShare,
                new NameAllocator(),
                new SecureRandom(),
                nanoTime,
                take,
                release,
                MAX_RESERVATIONS);
    }

    ShareRegistry(int maxSessionsPerShare) {
        this(maxSessionsPerShare, new NameAllocator());
    }

    ShareRegistry(int maxSessionsPerShare, NameAllocator names) {
        this(maxSessionsPerShare, names, new SecureRandom());
    }

    ShareRegistry(int maxSessionsPerShare, NameAllocator names, RandomGenerator sessionIds) {
        this(
                maxSessionsPerShare,
                names,
                sessionIds,
                System::nanoTime,
                a -> true,
                a -> {},
                MAX_RESERVATIONS);
    }

    ShareRegistry(
            int maxSessionsPerShare,
            NameAllocator names,
            RandomGenerator sessionIds,
            LongSupplier nanoTime,
            Predicate<InetAddress> take,
            Consumer<InetAddress> release,
            int maxReservations) {
        this.maxSessionsPerShare = maxSessionsPerShare;
        this.names = names;
        this.sessionIds = sessionIds;
        this.nanoTime = nanoTime;
        this.reservationNanos =
                TimeUnit.MILLISECONDS.toNanos(RendezvousProtocol.NAME_RESERVATION_MILLIS);
        this.take = take;
        this.release = release;
        this.maxReservations = maxReservations;
    }

    public enum Claim {
        OK,
        /** The name is held, or reserved, for another key. */
        TAKEN,
        /** No free name was found. */
        EXHAUSTED,
        /** The address holds its most live shares and reservations. */
        BUSY
    }

    public record Registration(Claim claim, Share share, Share replaced) {}

    /**
     * Registers a share under the name it asks for (or a fresh one), taking a budget slot of its
     * address. A name held by a live share, or reserved, for another owner is refused. The same
     * owner (the same key, proven) takes its name back: from its reservation, or from its own stale
     * live registration, which is replaced (and handed back, for its connection to be closed). From
     * the address it held the name from, the owner keeps that slot rather than taking another.
     */
    public synchronized Registration register(
            String wanted, Channel ch, String owner, InetAddress from) {
        return register(wanted, ch, owner, from, null, null);
    }

    /**
     * As {@link #register(String, Channel, String, InetAddress)}, public under {@code label} (with
     * visitors' credentials {@code auth}) when the label is not null. A label is one key's (it is
     * derived from it), so the same owner's registrations share it and no other can hold it.
     */
    public synchronized Registration register(
            String wanted, Channel ch, String owner, InetAddress from, String label, String auth) {
        expireReservations(); // first: an expired reservation frees its name and its slot
        String name = wanted;
        Share old = null;
        Reservation r = null;
        if (name == null) {
            name = names.allocate(n -> byName.containsKey(n) || reserved.containsKey(n));
            if (name == null) return new Registration(Claim.EXHAUSTED, null, null);
        } else {
            old = byName.get(name);
            r = reserved.get(name);
            if (old != null && !old.owner().equals(owner))
                return new Registration(Claim.TAKEN, null, null);
            if (r != null && !r.owner().equals(owner))
                return new Registration(Claim.TAKEN, null, null);
        }
        // A live registration and a reservation of one name never exist together.
        // Slots are counted per IPv4 address or IPv6 /64 (AddressBudget.Key): an IPv6 share that
        // comes back from another privacy address of its /64 holds the same slot.
        boolean slotFromReservation = r != null && sameBudget(r.from(), from);
        boolean slotFromOld = old != null && sameBudget(old.from(), from);
        if (!slotFromReservation && !slotFromOld && !take.test(from))
            return new Registration(Claim.BUSY, null, null);
        if (r != null) {
            reserved.remove(name);
            if (r.label() != null) reservedLabels.remove(r.label());
            if (!slotFromReservation) release.accept(r.from());
        }
        if (slotFromOld) slotPassedOn.add(old);
        Share s = new Share(name, ch, owner, from, label, auth);
        byName.put(name, s);
        if (old != null && old.label() != null) byLabel.remove(old.label(), old);
        if (label != null) byLabel.put(label, s);
        return new Registration(Claim.OK, s, old);
    }

    private static boolean sameBudget(InetAddress a, InetAddress b) {
        return AddressBudget.Key.of(a).equals(AddressBudget.Key.of(b));
    }

    /** Whether {@code name} is reserved for a share that left (for tests and logs). */
    public synchronized boolean isReserved(String name) {
        expireReservations();
        return reserved.containsKey(name);
    }

    private void expireReservations() {
        long now = nanoTime.getAsLong();
        for (Iterator<Map.Entry<String, Reservation>> it = reserved.entrySet().iterator();
                it.hasNext(); ) {
            Map.Entry<String, Reservation> e = it.next();
            Reservation r = e.getValue();
            if (now - r.expiresAt() < 0) break; // the rest expire later
            it.remove();
            if (r.label() != null) reservedLabels.remove(r.label(), e.getKey());
            release.accept(r.from());
        }
    }

    /** The live public share whose URL has {@code label}, or null. */
    public synchronized Share publicShare(String label) {
        return byLabel.get(label);
    }

    /**
     * Whether {@code label} belonged to a public share that left within the reservation time (its
     * name is still reserved for its key): the gateway says "offline" rather than "no such share".
     */
    public synchronized boolean wasPublic(String label) {
        expireReservations();
        String name = reservedLabels.get(label);
        return name != null && reserved.containsKey(name);
    }

    public synchronized Share lookup(String name) {
        return byName.get(name);
    }

    /**
     * Opens a session, or returns null if the share already has too many or is no longer the
     * registered one (it closed, or re-registered on another connection, since {@link #lookup}). A
     * connector has one session at a time: asking again (after its tunnel broke) replaces the old
     * one.
     *
     * <p>The share is checked here, under the lock {@link #drop} takes: a share's drop either comes
     * after this open (and ends the session) or before it (and this opens none), so no session
     * outlives its share.
     */
    public synchronized Session open(Share share, Channel connector) {
        if (byName.get(share.name()) != share) return null;
        Session old = byConnector.get(connector);
        Map<String, Session> ofShare = byShare.get(share.channel());
        // Refused before anything changes: a CONNECT to a full share keeps the asker's session. A
        // session of this share that the new one replaces does not count against the cap.
        int held = ofShare == null ? 0 : ofShare.size();
        if (old != null && old.share() == share) held--;
        if (held >= maxSessionsPerShare) return null;
        if (old != null) end(old);
        Session s = new Session(newSessionId(), share, connector);
        sessions.put(s.id(), s);
        byShare.computeIfAbsent(share.channel(), ch -> new HashMap<>()).put(s.id(), s);
        byConnector.put(connector, s);
        return s;
    }

    /** 64 random bits, drawn again in the (2^-64 per live session) case that one holds them. */
    private String newSessionId() {
        String id;
        do id = HexFormat.of().toHexDigits(sessionIds.nextLong());
        while (sessions.containsKey(id));
        return id;
    }

    /** A fresh id no live session holds, for a session outside the table (the gateway's). */
    public synchronized String unusedSessionId() {
        return newSessionId();
    }

    public synchronized Session session(String id) {
        return sessions.get(id);
    }

    /** Whether {@code connector} holds a live session (it must END it before asking again). */
    public synchronized boolean holdsSession(Channel connector) {
        return byConnector.containsKey(connector);
    }

    /**
     * Ends a session one of its peers said is over (END); returns it, or null if it is not live or
     * not that peer's.
     */
    public synchronized Session end(String id, Channel from) {
        Session s = sessions.get(id);
        if (s == null || (s.connector() != from && s.share().channel() != from)) return null;
        end(s);
        return s;
    }

    /**
     * What a closed control channel held: the sessions it took down, and whether its share's name
     * is now reserved (the share's budget slot stays taken until the reservation ends).
     */
    public record Dropped(List<Session> sessions, boolean reserved) {}

    /**
     * Forgets everything a closed control channel held, reserving a live share's name; gives back
     * the share's budget slot unless its reservation keeps it (or the share that replaced it took
     * it over).
     */
    public synchronized Dropped drop(Channel ch, Share share) {
        expireReservations();
        boolean reserve = false;
        if (share != null && byName.get(share.name()) == share) {
            byName.remove(share.name());
            if (share.label() != null) byLabel.remove(share.label(), share);
            if (reserved.size() < maxReservations) {
                reserved.put(
                        share.name(),
                        new Reservation(
                                share.owner(),
                                share.from(),
                                nanoTime.getAsLong() + reservationNanos,
                                share.label()));
                if (share.label() != null) reservedLabels.put(share.label(), share.name());
                reserve = true;
            } else {
                release.accept(share.from());
            }
        } else if (share != null && !slotPassedOn.remove(share)) {
            release.accept(share.from()); // replaced by its owner from another address
        }
        List<Session> gone = new ArrayList<>();
        Session asConnector = byConnector.get(ch);
        if (asConnector != null) {
            end(asConnector);
            gone.add(asConnector);
        }
        Map<String, Session> asShare = byShare.get(ch);
        if (asShare != null) {
            for (Session s : List.copyOf(asShare.values())) {
                end(s);
                gone.add(s);
            }
        }
        return new Dropped(gone, reserve);
    }

    /** Removes one session from the table and both indexes. */
    private void end(Session s) {
        visited++;
        sessions.remove(s.id());
        byConnector.remove(s.connector(), s);
        Map<String, Session> ofShare = byShare.get(s.share().channel());
        if (ofShare != null) {
            ofShare.remove(s.id());
            if (ofShare.isEmpty()) byShare.remove(s.share().channel());
        }
    }
}
