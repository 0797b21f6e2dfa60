package dev.appshare.rendezvous;

import io.netty.channel.Channel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Live shares by name and the sessions between each share and its connectors. Names are unique
 * among live shares and freed when the share's control connection closes. Synchronized: control
 * connections live on several event loops.
 */
public final class ShareRegistry {
    /** A registered share: its control channel, TLS key fingerprint and re-registration secret. */
    public record Share(String name, Channel channel, String fingerprint, String owner) {}

    /** A connector's request to a share, kept while both control connections live (for SIGNAL). */
    public record Session(String id, Share share, Channel connector) {
        public Channel other(Channel from) {
            return from == connector ? share.channel() : connector;
        }
    }

    private final Map<String, Share> byName = new HashMap<>();
    private final Map<String, Session> sessions = new HashMap<>();
    private final NameAllocator names = new NameAllocator();
    private final int maxSessionsPerShare;
    private long nextSession = 1;

    public ShareRegistry(int maxSessionsPerShare) {
        this.maxSessionsPerShare = maxSessionsPerShare;
    }

    public enum Claim {
        OK,
        TAKEN,
        EXHAUSTED
    }

    public record Registration(Claim claim, Share share, Share replaced) {}

    /**
     * Registers a share under the name it asks for (or a fresh one). A name held by another live
     * share is refused, unless the request proves to be the same share (same owner secret)
     * reconnecting, in which case the stale registration is replaced.
     */
    public synchronized Registration register(String wanted, Channel ch, String fp, String owner) {
        String name = wanted;
        Share replaced = null;
        if (name == null) {
            name = names.allocate(byName::containsKey);
            if (name == null) return new Registration(Claim.EXHAUSTED, null, null);
        } else {
            Share old = byName.get(name);
            if (old != null) {
                if (!old.owner().equals(owner)) return new Registration(Claim.TAKEN, null, null);
                replaced = old;
            }
        }
        Share s = new Share(name, ch, fp, owner);
        byName.put(name, s);
        return new Registration(Claim.OK, s, replaced);
    }

    public synchronized Share lookup(String name) {
        return byName.get(name);
    }

    /**
     * Opens a session, or returns null if the share already has too many. A connector has one
     * session at a time: asking again (after its tunnel broke) replaces the old one.
     */
    public synchronized Session open(Share share, Channel connector) {
        sessions.values().removeIf(s -> s.connector() == connector);
        long live = sessions.values().stream().filter(s -> s.share() == share).count();
        if (live >= maxSessionsPerShare) return null;
        Session s = new Session(Long.toString(nextSession++), share, connector);
        sessions.put(s.id(), s);
        return s;
    }

    public synchronized Session session(String id) {
        return sessions.get(id);
    }

    /** Forgets everything a closed control channel held; returns the sessions it took down. */
    public synchronized List<Session> drop(Channel ch, Share share) {
        if (share != null && byName.get(share.name()) == share) byName.remove(share.name());
        List<Session> gone = new ArrayList<>();
        sessions.values()
                .removeIf(
                        s -> {
                            boolean hit = s.connector() == ch || s.share().channel() == ch;
                            if (hit) gone.add(s);
                            return hit;
                        });
        return gone;
    }
}
