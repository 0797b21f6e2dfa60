package dev.appshare.gateway;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.File;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLException;

/**
 * The gateway's certificate and key (PEM files: a certificate chain, for {@code *.DOMAIN}, and its
 * private key), read at start and again on {@link #reload} (SIGHUP), so a renewed certificate is
 * taken without a restart: connections accepted after the reload get the new one, open ones keep
 * theirs. A reload that fails keeps the old context.
 */
final class TlsFiles {
    private final Path cert;
    private final Path key;
    private final AtomicReference<SslContext> context = new AtomicReference<>();

    TlsFiles(Path cert, Path key) throws SSLException {
        this.cert = cert;
        this.key = key;
        context.set(load());
    }

    private SslContext load() throws SSLException {
        try {
            return SslContextBuilder.forServer(new File(cert.toString()), new File(key.toString()))
                    .applicationProtocolConfig(
                            new ApplicationProtocolConfig(
                                    ApplicationProtocolConfig.Protocol.ALPN,
                                    ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                                    ApplicationProtocolConfig.SelectedListenerFailureBehavior
                                            .ACCEPT,
                                    ApplicationProtocolNames.HTTP_2,
                                    ApplicationProtocolNames.HTTP_1_1))
                    .build();
        } catch (SSLException e) {
            throw e;
        } catch (RuntimeException e) { // a missing or unreadable file, a key netty cannot read
            throw new SSLException(
                    "cannot load --tls-cert "
                            + cert
                            + " / --tls-key "
                            + key
                            + ": "
                            + e.getMessage(),
                    e);
        }
    }

    /** The context new connections use. */
    SslContext context() {
        return context.get();
    }

    /** Reads both files again; on failure throws and keeps serving the old ones. */
    void reload() throws SSLException {
        context.set(load());
    }

    String describe() {
        return cert + " / " + key;
    }
}
