package dev.appshare.wire.path;

import java.net.InetSocketAddress;
import org.ice4j.StunException;
import org.ice4j.Transport;
import org.ice4j.TransportAddress;
import org.ice4j.attribute.Attribute;
import org.ice4j.attribute.AttributeDecoder;
import org.ice4j.attribute.AttributeFactory;
import org.ice4j.attribute.OptionalAttribute;
import org.ice4j.message.Message;

/**
 * The two RFC 5780 (NAT behaviour discovery) attributes the rendezvous's STUN responder and {@code
 * appshare doctor} agree on, built on ice4j's codec, which knows neither by name:
 *
 * <pre>
 * OTHER-ADDRESS (0x802C), in every Binding response: the server's other STUN port.
 *   0        8        16               31
 *   | 0x00   | family | port            |   family 0x01 IPv4 (4 address bytes), 0x02 IPv6 (16)
 *   | address ...                       |   (the format of RFC 3489's CHANGED-ADDRESS)
 *   The address is the socket's bind address, often the wildcard; a client uses the host it
 *   dialled with this port (a server behind a port mapping would name an address no one reaches).
 *
 * PADDING (0x0026), in a Binding request: N zero bytes (N a multiple of 4). The server pads its
 *   answer with a PADDING of its own so that the answer is as large as the request (never larger):
 *   one round trip proves a payload of that size passes both ways.
 *
 * CHANGE-REQUEST (0x0003, ice4j's ChangeRequestAttribute): with the change-port flag the answer
 *   leaves from the other port, so a client learns whether its NAT lets in what it never sent to
 *   (filtering). The change-IP flag is not served: the rendezvous has one address.
 * </pre>
 *
 * Unknown attributes decode in ice4j as an {@link OptionalAttribute} that keeps its type and body,
 * which is how both are read back.
 */
public final class StunAttributes {
    public static final char OTHER_ADDRESS = 0x802C;
    public static final char PADDING = 0x0026;

    /** A PADDING attribute's header: type(2) | length(2). */
    public static final int ATTRIBUTE_HEADER = 4;

    private StunAttributes() {}

    /** An OTHER-ADDRESS naming {@code other}: CHANGED-ADDRESS's encoding under the new type. */
    public static Attribute otherAddress(InetSocketAddress other) {
        byte[] changed =
                AttributeFactory.createChangedAddressAttribute(
                                new TransportAddress(other, Transport.UDP))
                        .encode();
        return new Opaque(OTHER_ADDRESS, changed, ATTRIBUTE_HEADER, changed.length);
    }

    /** The port a response's OTHER-ADDRESS names, or -1 when it has none or a malformed one. */
    public static int otherPort(Message response) {
        if (!(response.getAttribute(OTHER_ADDRESS) instanceof OptionalAttribute a)) return -1;
        byte[] body = a.getBody();
        // Decoded with ice4j's own CHANGED-ADDRESS decoder: same layout, RFC 5780 §7.4.
        byte[] asChanged = new byte[ATTRIBUTE_HEADER + body.length];
        asChanged[1] = Attribute.CHANGED_ADDRESS;
        asChanged[2] = (byte) (body.length >> 8);
        asChanged[3] = (byte) body.length;
        System.arraycopy(body, 0, asChanged, ATTRIBUTE_HEADER, body.length);
        try {
            Attribute changed = AttributeDecoder.decode(asChanged, 0, (char) asChanged.length);
            return changed instanceof org.ice4j.attribute.ChangedAddressAttribute c
                    ? c.getAddress().getPort()
                    : -1;
        } catch (StunException | RuntimeException e) {
            return -1;
        }
    }

    /** A PADDING of {@code bytes} zeros (rounded down to a multiple of 4, at least 0). */
    public static Attribute padding(int bytes) {
        int n = Math.max(0, bytes) & ~3;
        return new Opaque(PADDING, new byte[n], 0, n);
    }

    /** True if {@code m} carries a PADDING attribute. */
    public static boolean hasPadding(Message m) {
        return m.getAttribute(PADDING) != null;
    }

    /** An attribute ice4j has no class for: a type and the bytes of its body. */
    private static final class Opaque extends OptionalAttribute {
        Opaque(char type, byte[] from, int offset, int end) {
            super(type);
            setBody(from, offset, end - offset);
        }
    }
}
