package org.pwgate.proxy.tls;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which TLS implementation pwgate's contexts use, and the protocol policy they all share: TLS 1.2
 * and 1.3 only; for 1.2, ECDHE key exchange with AEAD ciphers only (the 1.3 suites are all AEAD).
 *
 * <p>OpenSSL (BoringSSL, statically linked through netty-tcnative) is preferred because it is
 * markedly cheaper per byte than the JDK's engine; where its native library does not load, the
 * JDK's TLS is used with the same policy.
 */
public final class TlsProvider {
    private static final Logger log = LoggerFactory.getLogger(TlsProvider.class);

    public static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    /** Java names; Netty maps them to OpenSSL's. Suites a provider lacks are filtered out. */
    public static final List<String> CIPHER_SUITES = List.of(
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    private final SslProvider provider;
    private final String description;

    private TlsProvider(SslProvider provider, String description) {
        this.provider = provider;
        this.description = description;
    }

    /** OpenSSL when netty-tcnative loads here, the JDK otherwise; logs the choice. Call once, at startup. */
    public static TlsProvider detect() {
        TlsProvider chosen;
        if (OpenSsl.isAvailable()) {
            chosen = openSsl();
        } else {
            Throwable cause = OpenSsl.unavailabilityCause();
            chosen = new TlsProvider(SslProvider.JDK, "JDK " + System.getProperty("java.version")
                    + " (OpenSSL unavailable: " + (cause == null ? "unknown reason" : cause.getClass().getSimpleName() + ": " + cause.getMessage()) + ")");
        }
        log.info("TLS provider: {}", chosen.description);
        return chosen;
    }

    /** The JDK's TLS, whatever is available. */
    public static TlsProvider jdk() {
        return new TlsProvider(SslProvider.JDK, "JDK " + System.getProperty("java.version"));
    }

    /** OpenSSL through netty-tcnative; fails when its native library does not load. */
    public static TlsProvider openSsl() {
        OpenSsl.ensureAvailability();
        return new TlsProvider(SslProvider.OPENSSL, OpenSsl.versionString() + " through netty-tcnative");
    }

    public SslProvider sslProvider() {
        return provider;
    }

    /** For the log: e.g. "BoringSSL through netty-tcnative". */
    public String description() {
        return description;
    }

    /** Applies the provider and the protocol/cipher policy. */
    SslContextBuilder apply(SslContextBuilder builder) {
        return builder.sslProvider(provider)
                .protocols(PROTOCOLS)
                .ciphers(CIPHER_SUITES, SupportedCipherSuiteFilter.INSTANCE);
    }

    @Override
    public String toString() {
        return description;
    }
}
