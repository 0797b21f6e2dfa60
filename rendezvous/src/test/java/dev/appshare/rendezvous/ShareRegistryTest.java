package dev.appshare.rendezvous;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.rendezvous.ShareRegistry.Claim;
import dev.appshare.rendezvous.ShareRegistry.Registration;
import dev.appshare.rendezvous.ShareRegistry.Session;
import dev.appshare.rendezvous.ShareRegistry.Share;
import dev.appshare.wire.rendezvous.RegistrationProof;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PrimitiveIterator;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.random.RandomGenerator;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/**
 * The registry on its own; each control connection is an EmbeddedChannel, an owner is a key's
 * fingerprint, the clock is the test's and the address budget a counter.
 */
class ShareRegistryTest {
    static final InetAddress ADDR = InetAddress.getLoopbackAddress();
    static final InetAddress OTHER_ADDR = address(127, 0, 0, 2);
    private static final String OWNER =
            RegistrationProof.fingerprint(ControlClient.newKey().getPublic());
    private static final String STRANGER =
            RegistrationProof.fingerprint(ControlClient.newKey().getPublic());
    private static final long RESERVATION_NANOS =
            TimeUnit.MILLISECONDS.toNanos(RendezvousProtocol.NAME_RESERVATION_MILLIS);

    private final AtomicLong now = new AtomicLong(1_000_000_000_000L);

    /** Live-share budget slots per address, as ClientBudgets counts them, with a limit. */
    private static final class Slots {
        final int limit;
        final Map<InetAddress, Integer> held = new HashMap<>();

        Slots(int limit) {
            this.limit = limit;
        }

        boolean take(InetAddress a) {
            if (held(a) >= limit) return false;
            held.merge(a, 1, Integer::sum);
            return true;
        }

        void release(InetAddress a) {
            assertTrue(held(a) > 0, "a slot given back that was not taken: " + a);
            held.merge(a, -1, Integer::sum);
        }

        int held(InetAddress a) {
            return held.getOrDefault(a, 0);
        }

        int total() {
            return held.values().stream().mapToInt(Integer::intValue).sum();
        }
    }

    private ShareRegistry registry(Slots slots, int maxReservations) {
        return registry(slots, maxReservations, new NameAllocator());
    }

    private ShareRegistry registry(Slots slots, int maxReservations, NameAllocator names) {
        return new ShareRegistry(
                8,
                names,
                new SecureRandom(),
                now::get,
                slots::take,
                slots::release,
                maxReservations);
    }

    private static InetAddress address(int a, int b, int c, int d) {
        try {
            return InetAddress.getByAddress(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static Share register(ShareRegistry r, String name, String owner, InetAddress from) {
        Registration reg = r.register(name, new EmbeddedChannel(), owner, from);
        assertEquals(Claim.OK, reg.claim(), "register " + name);
        return reg.share();
    }

    private static Share register(ShareRegistry r, String name, String owner) {
        return register(r, name, owner, ADDR);
    }

    @Test
    void aFreshShareGetsAFreeNameThatLookupFinds() {
        ShareRegistry r = new ShareRegistry(8);
        Share s = register(r, null, OWNER);
        assertTrue(s.name().matches("[1-9][0-9]{3}"), "a 4-digit number: " + s.name());
        assertTrue(NameAllocator.isValid(s.name()), s.name());
        assertSame(s, r.lookup(s.name()));
        assertNull(r.lookup("no-such-share"));
    }

    @Test
    void onlyTheOwnersKeyRetakesALiveName() {
        ShareRegistry r = new ShareRegistry(8);
        Share first = register(r, "my-app", OWNER);
        Session s = r.open(first, new EmbeddedChannel());

        Registration stranger = r.register("my-app", new EmbeddedChannel(), STRANGER, ADDR);
        assertEquals(Claim.TAKEN, stranger.claim());
        assertNull(stranger.share());
        assertSame(first, r.lookup("my-app"), "a stranger changes nothing");

        Registration again = r.register("my-app", new EmbeddedChannel(), OWNER, ADDR);
        assertEquals(Claim.OK, again.claim());
        assertSame(first, again.replaced(), "the stale registration is handed back to close");
        assertSame(again.share(), r.lookup("my-app"));

        // The replaced connection closes later: its sessions end, the name stays with the new one.
        ShareRegistry.Dropped dropped = r.drop(first.channel(), first);
        assertEquals(List.of(s), dropped.sessions());
        assertFalse(dropped.reserved(), "the name lives on: nothing to reserve");
        assertSame(again.share(), r.lookup("my-app"));
        assertNull(r.session(s.id()));
    }

    @Test
    void aDroppedSharesNameIsReservedForItsKeyUntilTheReservationEnds() {
        ShareRegistry r = registry(new Slots(32), ShareRegistry.MAX_RESERVATIONS);
        Share s = register(r, "my-app", OWNER, ADDR);
        Session session = r.open(s, new EmbeddedChannel());
        ShareRegistry.Dropped dropped = r.drop(s.channel(), s);
        assertTrue(dropped.reserved());
        assertEquals(List.of(session), dropped.sessions());
        assertNull(r.lookup("my-app"), "no share to connect to");
        assertTrue(r.isReserved("my-app"));

        now.addAndGet(RESERVATION_NANOS - 1);
        Registration stranger = r.register("my-app", new EmbeddedChannel(), STRANGER, ADDR);
        assertEquals(Claim.TAKEN, stranger.claim(), "another key, from the same address even");
        assertNull(stranger.share());
        assertTrue(r.isReserved("my-app"));

        Registration back = r.register("my-app", new EmbeddedChannel(), OWNER, OTHER_ADDR);
        assertEquals(Claim.OK, back.claim(), "the owner's key takes it back, from anywhere");
        assertNull(back.replaced(), "nothing live to close");
        assertSame(back.share(), r.lookup("my-app"));
        assertFalse(r.isReserved("my-app"));
    }

    @Test
    void anExpiredReservationFreesTheNameForAnyone() {
        ShareRegistry r = registry(new Slots(32), ShareRegistry.MAX_RESERVATIONS);
        Share s = register(r, "my-app", OWNER, ADDR);
        r.drop(s.channel(), s);
        now.addAndGet(RESERVATION_NANOS);
        assertFalse(r.isReserved("my-app"));
        assertEquals(Claim.OK, r.register("my-app", new EmbeddedChannel(), STRANGER, ADDR).claim());

        // Also when nothing else looked at the registry meanwhile: register itself expires it.
        Share t = register(r, "other-app", OWNER, ADDR);
        r.drop(t.channel(), t);
        now.addAndGet(RESERVATION_NANOS);
        assertEquals(
                Claim.OK, r.register("other-app", new EmbeddedChannel(), STRANGER, ADDR).claim());
    }

    @Test
    void aFreshNameIsNeverAReservedOne() {
        // Two allocators with the same seed draw the same numbers: reserve the first the registry
        // will draw, for another key; the registry must draw past it.
        ShareRegistry r = registry(new Slots(32), 16, new NameAllocator(new Random(7)));
        String first = new NameAllocator(new Random(7)).allocate(n -> false);
        Share s = register(r, first, OWNER, ADDR);
        r.drop(s.channel(), s);
        assertTrue(r.isReserved(first));
        Share fresh = register(r, null, STRANGER, ADDR);
        assertNotEquals(first, fresh.name());
        assertTrue(r.isReserved(first), "still reserved for its key");
    }

    @Test
    void aRandomNameIsRefusedWhenEveryDrawIsTaken() {
        // Two allocators with the same seed draw the same numbers: take every one the registry
        // will try (NameAllocator.DRAWS_PER_LENGTH at each length), half live, half reserved.
        ShareRegistry r = registry(new Slots(1000), 1000, new NameAllocator(new Random(42)));
        List<String> draws = new ArrayList<>();
        assertNull(
                new NameAllocator(new Random(42)).allocate(n -> draws.add(n)),
                "the replay takes every draw");
        assertEquals(6 * NameAllocator.DRAWS_PER_LENGTH, draws.size(), "4 to 9 digits");
        for (int i = 0; i < draws.size(); i++) {
            if (!r.isReserved(draws.get(i)) && r.lookup(draws.get(i)) == null) {
                Share s = register(r, draws.get(i), OWNER, ADDR);
                if (i % 2 == 0) r.drop(s.channel(), s);
            }
        }
        Registration none = r.register(null, new EmbeddedChannel(), OWNER, ADDR);
        assertEquals(Claim.EXHAUSTED, none.claim());
        assertNull(none.share());
    }

    @Test
    void liveSharesAndReservationsEachHoldABudgetSlotOfTheirAddress() {
        Slots slots = new Slots(2);
        ShareRegistry r = registry(slots, ShareRegistry.MAX_RESERVATIONS);
        Share a = register(r, "app-a", OWNER, ADDR);
        register(r, null, OWNER, ADDR);
        assertEquals(2, slots.held(ADDR));
        assertEquals(Claim.BUSY, r.register(null, new EmbeddedChannel(), STRANGER, ADDR).claim());
        assertEquals(
                Claim.OK,
                r.register(null, new EmbeddedChannel(), STRANGER, OTHER_ADDR).claim(),
                "per address");

        r.drop(a.channel(), a);
        assertEquals(2, slots.held(ADDR), "the reservation keeps the slot");
        assertEquals(Claim.BUSY, r.register(null, new EmbeddedChannel(), STRANGER, ADDR).claim());

        now.addAndGet(RESERVATION_NANOS);
        Registration later = r.register(null, new EmbeddedChannel(), STRANGER, ADDR);
        assertEquals(Claim.OK, later.claim(), "the expired reservation gave its slot back");
        assertEquals(2, slots.held(ADDR));

        // Claims refused for the name take no slot.
        r.drop(later.share().channel(), later.share());
        now.addAndGet(RESERVATION_NANOS);
        assertFalse(r.isReserved(later.share().name()));
        assertEquals(1, slots.held(ADDR));
        Share held = register(r, "held-app", OWNER, OTHER_ADDR);
        assertEquals(
                Claim.TAKEN, r.register("held-app", new EmbeddedChannel(), STRANGER, ADDR).claim());
        assertEquals(1, slots.held(ADDR));
        assertNotNull(held);
    }

    @Test
    void theOwnerTakingItsNameBackFromTheSameAddressKeepsItsSlot() {
        Slots slots = new Slots(1);
        ShareRegistry r = registry(slots, ShareRegistry.MAX_RESERVATIONS);
        Share first = register(r, "my-app", OWNER, ADDR);

        // From its reservation: the address is at its budget, and the owner still gets it back.
        r.drop(first.channel(), first);
        Share second = register(r, "my-app", OWNER, ADDR);
        assertEquals(1, slots.held(ADDR));

        // From its own stale registration (the server has not yet seen the old connection die).
        Registration third = r.register("my-app", new EmbeddedChannel(), OWNER, ADDR);
        assertEquals(Claim.OK, third.claim());
        assertSame(second, third.replaced());
        assertEquals(1, slots.held(ADDR));
        r.drop(second.channel(), second); // the replaced connection closes
        assertEquals(1, slots.held(ADDR), "its slot went to the registration that replaced it");

        r.drop(third.share().channel(), third.share());
        assertEquals(1, slots.held(ADDR), "reserved again");
        now.addAndGet(RESERVATION_NANOS);
        assertFalse(r.isReserved("my-app"));
        assertEquals(0, slots.held(ADDR), "every slot given back");
    }

    @Test
    void theOwnerTakingItsNameBackFromAnotherAddressMovesItsSlot() {
        Slots slots = new Slots(1);
        ShareRegistry r = registry(slots, ShareRegistry.MAX_RESERVATIONS);
        Share first = register(r, "my-app", OWNER, ADDR);
        r.drop(first.channel(), first);
        Share second = register(r, "my-app", OWNER, OTHER_ADDR);
        assertEquals(0, slots.held(ADDR), "the reservation's slot came back");
        assertEquals(1, slots.held(OTHER_ADDR));

        Registration third = r.register("my-app", new EmbeddedChannel(), OWNER, ADDR);
        assertEquals(Claim.OK, third.claim());
        assertEquals(1, slots.held(ADDR));
        assertEquals(1, slots.held(OTHER_ADDR), "until the replaced connection closes");
        r.drop(second.channel(), second);
        assertEquals(0, slots.held(OTHER_ADDR));
        assertEquals(1, slots.held(ADDR));

        // At its new address's budget, the owner is refused like anyone (its name stays reserved).
        r.drop(third.share().channel(), third.share());
        Share busy = register(r, null, STRANGER, OTHER_ADDR);
        assertEquals(
                Claim.BUSY, r.register("my-app", new EmbeddedChannel(), OWNER, OTHER_ADDR).claim());
        assertTrue(r.isReserved("my-app"));
        assertNotNull(busy);
    }

    @Test
    void reservationsAreBoundedAndOnePastTheBoundFreesNameAndSlotAtOnce() {
        Slots slots = new Slots(10);
        ShareRegistry r = registry(slots, 2);
        List<Share> shares = new ArrayList<>();
        for (int i = 0; i < 3; i++) shares.add(register(r, "app-" + i, OWNER, ADDR));
        assertTrue(r.drop(shares.get(0).channel(), shares.get(0)).reserved());
        assertTrue(r.drop(shares.get(1).channel(), shares.get(1)).reserved());
        assertFalse(r.drop(shares.get(2).channel(), shares.get(2)).reserved(), "past the bound");
        assertFalse(r.isReserved("app-2"));
        assertEquals(2, slots.held(ADDR), "its slot came back at once");
        assertEquals(Claim.OK, r.register("app-2", new EmbeddedChannel(), STRANGER, ADDR).claim());
        assertEquals(
                Claim.TAKEN, r.register("app-0", new EmbeddedChannel(), STRANGER, ADDR).claim());

        // An expired reservation makes room for the next.
        now.addAndGet(RESERVATION_NANOS);
        Share next = register(r, "app-3", OWNER, ADDR);
        assertTrue(r.drop(next.channel(), next).reserved());
    }

    @Test
    void aSlotIsHeldForEachLiveShareAndReservationThroughAnySequence() {
        // A seeded walk over registrations (fresh and named, by two keys, from two addresses),
        // drops and the passing of time; the model: a name's slot is held while it is live or
        // reserved, and the registry's replaced registrations are dropped at once (as their
        // connections are closed).
        Random random = new Random(1234);
        Slots slots = new Slots(4);
        ShareRegistry r = registry(slots, 3);
        List<String> names = List.of("n-a", "n-b", "n-c", "n-d", "n-e");
        Set<String> everName = new HashSet<>(names);
        List<Share> live = new ArrayList<>();
        for (int step = 0; step < 5_000; step++) {
            switch (random.nextInt(4)) {
                case 0, 1 -> {
                    String name = random.nextInt(4) == 0 ? null : names.get(random.nextInt(5));
                    String owner = random.nextBoolean() ? OWNER : STRANGER;
                    InetAddress from = random.nextBoolean() ? ADDR : OTHER_ADDR;
                    Registration reg = r.register(name, new EmbeddedChannel(), owner, from);
                    if (reg.claim() == Claim.OK) {
                        live.add(reg.share());
                        everName.add(reg.share().name());
                        if (reg.replaced() != null) {
                            assertTrue(live.remove(reg.replaced()));
                            r.drop(reg.replaced().channel(), reg.replaced());
                        }
                    }
                }
                case 2 -> {
                    if (!live.isEmpty()) {
                        Share s = live.remove(random.nextInt(live.size()));
                        r.drop(s.channel(), s);
                    }
                }
                default -> now.addAndGet(random.nextInt(4) * RESERVATION_NANOS / 3);
            }
            int reserved = (int) everName.stream().filter(r::isReserved).count();
            assertTrue(reserved <= 3, "reservations past the bound");
            assertEquals(live.size() + reserved, slots.total(), "slots held at step " + step);
            for (Share s : live) assertSame(s, r.lookup(s.name()));
        }
        for (Share s : live) r.drop(s.channel(), s);
        now.addAndGet(RESERVATION_NANOS);
        everName.forEach(r::isReserved);
        assertEquals(0, slots.total(), "every slot given back in the end");
    }

    @Test
    void aConnectorHasOneSessionAndASecondReplacesTheFirst() {
        ShareRegistry r = new ShareRegistry(8);
        Share share = register(r, "my-app", OWNER);
        Share other = register(r, "other-app", OWNER);
        Channel connector = new EmbeddedChannel();
        Session first = r.open(share, connector);
        assertSame(first, r.session(first.id()));
        assertSame(share.channel(), first.other(connector));
        assertSame(connector, first.other(share.channel()));

        Session second = r.open(other, connector);
        assertNotEquals(first.id(), second.id());
        assertNull(r.session(first.id()), "the first session ended");
        assertSame(second, r.session(second.id()));
        assertEquals(
                List.of(),
                r.drop(share.channel(), share).sessions(),
                "the share has no session left");
        assertEquals(List.of(second), r.drop(connector, null).sessions());
        assertNull(r.session(second.id()));
    }

    @Test
    void aShareHasAtMostMaxSessionsAndAClosedOneMakesRoom() {
        ShareRegistry r = new ShareRegistry(3);
        Share share = register(r, "my-app", OWNER);
        List<Channel> connectors = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Channel c = new EmbeddedChannel();
            connectors.add(c);
            assertNotNull(r.open(share, c));
        }
        assertNull(r.open(share, new EmbeddedChannel()), "a fourth connector is refused");
        assertNotNull(
                r.open(share, connectors.get(0)), "a connector asking again replaces its own");
        assertNotNull(r.open(register(r, "other-app", OWNER), new EmbeddedChannel()), "per share");

        r.drop(connectors.get(1), null);
        assertNotNull(r.open(share, new EmbeddedChannel()), "a closed connector made room");
        assertNull(r.open(share, new EmbeddedChannel()));
    }

    @Test
    void aSessionForwardsAtMostItsBudgetOfSignalsEachWay() {
        ShareRegistry r = new ShareRegistry(8);
        Share share = register(r, "my-app", OWNER);
        Channel connector = new EmbeddedChannel();
        Session s = r.open(share, connector);
        for (int i = 0; i < RendezvousProtocol.MAX_SIGNALS_PER_SESSION; i++) {
            assertTrue(s.countSignal(connector));
        }
        assertTrue(!s.countSignal(connector), "the connector's next SIGNAL is dropped");
        assertTrue(s.countSignal(share.channel()), "the share's budget is its own");
    }

    @Test
    void aConnectToAFullShareKeepsTheAskersSessionElsewhere() {
        ShareRegistry r = new ShareRegistry(1);
        Share full = register(r, "full-app", OWNER);
        Share other = register(r, "other-app", OWNER);
        assertNotNull(r.open(full, new EmbeddedChannel()));
        Channel asker = new EmbeddedChannel();
        Session mine = r.open(other, asker);
        assertNotNull(mine);
        assertNull(r.open(full, asker), "the full share refuses");
        assertEquals(
                mine, r.session(mine.id()), "and the asker's session with the other share lives");
    }

    @Test
    void droppingAShareEndsItsSessionsOnly() {
        ShareRegistry r = new ShareRegistry(8);
        Share a = register(r, "app-a", OWNER);
        Share b = register(r, "app-b", OWNER);
        Session a1 = r.open(a, new EmbeddedChannel());
        Session a2 = r.open(a, new EmbeddedChannel());
        Session b1 = r.open(b, new EmbeddedChannel());

        Set<String> gone =
                r.drop(a.channel(), a).sessions().stream()
                        .map(Session::id)
                        .collect(Collectors.toSet());
        assertEquals(Set.of(a1.id(), a2.id()), gone);
        assertNull(r.session(a1.id()));
        assertNull(r.lookup("app-a"));
        assertSame(b1, r.session(b1.id()));
        assertEquals(
                List.of(), r.drop(a1.connector(), null).sessions(), "its connectors hold nothing");
        // A connector of the gone share may ask for another: its old session does not count.
        assertNotNull(r.open(b, a1.connector()));
    }

    @Test
    void dropAndOpenTouchOnlyTheSessionsInvolved() {
        ShareRegistry r = new ShareRegistry(1024);
        // 10,000 live sessions of other shares.
        for (int share = 0; share < 20; share++) {
            Share s = register(r, "busy-app-" + share, OWNER);
            for (int i = 0; i < 500; i++) assertNotNull(r.open(s, new EmbeddedChannel()));
        }
        Share mine = register(r, "my-app", OWNER);
        Channel c1 = new EmbeddedChannel();
        Channel c2 = new EmbeddedChannel();
        Channel c3 = new EmbeddedChannel();

        long before = r.testOnlySessionsVisited();
        r.open(mine, c1);
        r.open(mine, c2);
        r.open(mine, c3);
        r.open(mine, c3); // replaces its own
        assertTrue(
                r.testOnlySessionsVisited() - before <= 4,
                "open visited " + (r.testOnlySessionsVisited() - before) + " sessions");

        before = r.testOnlySessionsVisited();
        assertEquals(1, r.drop(c1, null).sessions().size());
        assertTrue(
                r.testOnlySessionsVisited() - before <= 1,
                "a connector's drop visited " + (r.testOnlySessionsVisited() - before));

        before = r.testOnlySessionsVisited();
        assertEquals(2, r.drop(mine.channel(), mine).sessions().size());
        assertTrue(
                r.testOnlySessionsVisited() - before <= 2,
                "a share's drop visited " + (r.testOnlySessionsVisited() - before));
        assertNotNull(r.lookup("busy-app-7"));
    }

    @Test
    void aRestartedRegistryDoesNotHandOutTheIdsOfTheOldOne() {
        // Tunnels outlive a server restart and keep their session ids: the first sessions of a
        // registry before and after a restart must differ.
        Set<String> ids = new HashSet<>();
        for (int restart = 0; restart < 2; restart++) {
            ShareRegistry r = new ShareRegistry(8);
            Share share = register(r, "my-app", OWNER);
            for (int i = 0; i < 3; i++) {
                String id = r.open(share, new EmbeddedChannel()).id();
                assertTrue(id.matches(RendezvousProtocol.SESSION_PATTERN), id);
                assertTrue(ids.add(id), "session id " + id + " handed out twice");
            }
        }
    }

    @Test
    void aSessionIdDrawnTwiceIsDrawnAgain() {
        PrimitiveIterator.OfLong draws = LongStream.of(7, 7, 7, 0xabcdefL).iterator();
        RandomGenerator replay = draws::nextLong;
        ShareRegistry r = new ShareRegistry(8, new NameAllocator(), replay);
        Share share = register(r, "my-app", OWNER);
        Session first = r.open(share, new EmbeddedChannel());
        Session second = r.open(share, new EmbeddedChannel());
        assertEquals("0000000000000007", first.id());
        assertEquals("0000000000abcdef", second.id());
        assertSame(first, r.session(first.id()));
    }

    @Test
    void aConnectRacingTheShareClosingOpensNoSession() {
        ShareRegistry r = new ShareRegistry(8);
        Share share = register(r, "my-app", OWNER);
        Channel connector = new EmbeddedChannel();
        Share found = r.lookup("my-app"); // the connector's CONNECT looks the share up ...
        r.drop(share.channel(), share); // ... its control connection closes on another loop ...
        assertNull(r.open(found, connector), "... and open must see that it is gone");
        assertEquals(List.of(), r.drop(connector, null).sessions(), "no session was left behind");

        // The same with a re-registration in between: the old registration is gone too.
        Share again = register(r, "my-app", OWNER);
        Share stale = r.lookup("my-app");
        Registration replaced = r.register("my-app", new EmbeddedChannel(), OWNER, ADDR);
        assertSame(again, replaced.replaced());
        assertNull(r.open(stale, connector));
        assertNotNull(r.open(replaced.share(), connector), "the live registration opens");
    }

    @Test
    void aPublicShareIsFoundByItsLabelAndAPrivateOneIsNot() {
        ShareRegistry r = registry(new Slots(32), ShareRegistry.MAX_RESERVATIONS);
        String label = PublicUrls.label(OWNER);
        Share pub = r.register("my-app", new EmbeddedChannel(), OWNER, ADDR, label, "hash").share();
        assertTrue(pub.isPublic());
        assertSame(pub, r.publicShare(label));
        assertEquals("hash", r.publicShare(label).auth());
        assertFalse(r.wasPublic(label), "live, not offline");

        Share priv = register(r, "other-app", STRANGER);
        assertFalse(priv.isPublic());
        assertNull(r.publicShare(PublicUrls.label(STRANGER)), "a private share has no URL");
        r.drop(priv.channel(), priv);
        assertFalse(r.wasPublic(PublicUrls.label(STRANGER)), "nor had one when it left");
    }

    @Test
    void aPublicShareThatLeftWasPublicUntilItsReservationEnds() {
        ShareRegistry r = registry(new Slots(32), ShareRegistry.MAX_RESERVATIONS);
        String label = PublicUrls.label(OWNER);
        Share s = r.register("my-app", new EmbeddedChannel(), OWNER, ADDR, label, null).share();
        r.drop(s.channel(), s);
        assertNull(r.publicShare(label), "gone: nothing to reach");
        assertTrue(r.wasPublic(label), "offline (502), not unknown (404)");
        now.addAndGet(RESERVATION_NANOS - 1);
        assertTrue(r.wasPublic(label));
        now.addAndGet(1);
        assertFalse(r.wasPublic(label), "the reservation ended: an unknown label again");
        assertFalse(r.isReserved("my-app"));
    }

    @Test
    void theOwnerComingBackIsPublicAgainUnderTheSameLabel() {
        ShareRegistry r = registry(new Slots(32), ShareRegistry.MAX_RESERVATIONS);
        String label = PublicUrls.label(OWNER);
        Share s = r.register("my-app", new EmbeddedChannel(), OWNER, ADDR, label, null).share();
        r.drop(s.channel(), s);
        now.addAndGet(RESERVATION_NANOS / 2);
        Share back =
                r.register("my-app", new EmbeddedChannel(), OWNER, OTHER_ADDR, label, null).share();
        assertSame(back, r.publicShare(label));
        assertFalse(r.wasPublic(label), "live again");

        // Its stale connection's drop (after a re-registration) does not take the label away.
        Registration again =
                r.register("my-app", new EmbeddedChannel(), OWNER, OTHER_ADDR, label, "h2");
        assertSame(back, again.replaced());
        r.drop(back.channel(), back);
        assertSame(again.share(), r.publicShare(label));
        assertEquals("h2", r.publicShare(label).auth());

        // Coming back private: the label leads nowhere, and not to an "offline" page either.
        Share live = again.share();
        Registration priv = r.register("my-app", new EmbeddedChannel(), OWNER, OTHER_ADDR);
        assertSame(live, priv.replaced());
        assertNull(r.publicShare(label));
        assertFalse(r.wasPublic(label));
    }

    @Test
    void anExpiredPublicNameTakenByAnotherKeyIsNotOfflineForTheOldLabel() {
        ShareRegistry r = registry(new Slots(32), ShareRegistry.MAX_RESERVATIONS);
        String label = PublicUrls.label(OWNER);
        Share s = r.register("my-app", new EmbeddedChannel(), OWNER, ADDR, label, null).share();
        r.drop(s.channel(), s);
        now.addAndGet(RESERVATION_NANOS);
        Share other = register(r, "my-app", STRANGER);
        r.drop(other.channel(), other);
        assertTrue(r.isReserved("my-app"), "reserved again, for the stranger");
        assertFalse(r.wasPublic(label), "the old label's share is long gone");
    }
}
