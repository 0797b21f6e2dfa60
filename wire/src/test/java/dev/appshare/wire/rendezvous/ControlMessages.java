package dev.appshare.wire.rendezvous;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/** Generated well-formed control messages, for the rendezvous *Fuzz properties. */
final class ControlMessages {
    private ControlMessages() {}

    static Arbitrary<RendezvousMessage> messages() {
        Arbitrary<String> type =
                Arbitraries.oneOf(
                        Arbitraries.of(
                                RendezvousProtocol.REGISTER,
                                RendezvousProtocol.CONNECT,
                                RendezvousProtocol.SIGNAL,
                                RendezvousProtocol.PING,
                                RendezvousProtocol.ERROR),
                        Arbitraries.strings()
                                .withCharRange('A', 'Z')
                                .ofMinLength(1)
                                .ofMaxLength(16));
        Arbitrary<String> key =
                Arbitraries.strings()
                        .withCharRange('a', 'z')
                        .numeric()
                        .withChars('-')
                        .ofMinLength(1)
                        .ofMaxLength(12);
        Arbitrary<String> value =
                Arbitraries.oneOf(
                                // what the escaping is about: separators, escapes, controls, UTF-8
                                Arbitraries.strings()
                                        .withChars(" =%\n\t\u0000\u007f\u00e9\u20ac\ud83d\ude00a1")
                                        .ofMaxLength(10),
                                Arbitraries.strings().ofMaxLength(10))
                        .filter(v -> StandardCharsets.UTF_8.newEncoder().canEncode(v));
        Arbitrary<List<String>> fields =
                Combinators.combine(key, value)
                        .as(List::of)
                        .list()
                        .ofMaxSize(6)
                        .map(ControlMessages::flatten);
        return Combinators.combine(type, fields)
                .as((t, kv) -> RendezvousMessage.of(t, kv.toArray(new String[0])));
    }

    private static List<String> flatten(List<List<String>> pairs) {
        List<String> out = new ArrayList<>();
        pairs.forEach(out::addAll);
        return out;
    }
}
