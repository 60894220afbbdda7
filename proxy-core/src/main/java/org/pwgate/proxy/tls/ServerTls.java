package org.pwgate.proxy.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.pwgate.config.PwgateConfig;
import org.pwgate.config.PwgateConfig.ClientCertVerify;
import org.pwgate.config.PwgateConfig.ClientTlsMode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client-facing TLS context, built from the PEM files of the {@code tls} config section and
 * kept current while pwgate runs.
 *
 * <pre>
 *   load(config)  -- validate files (exist, PEM, key matches cert, cert in its validity period) --> context
 *   watch(...)    -- every interval: content hash of cert/key/client_ca changed? --> reload()
 *   reload()      -- valid new files: swap the context; broken ones: keep the old one, log why
 * </pre>
 *
 * A connection takes the context current at its handshake ({@link #newHandler}); a later reload
 * never touches an SSLEngine already made, so open sessions are not dropped.
 *
 * <p>Client certificates: with {@code client_ca} and {@code verify: none} a certificate the client
 * presents is verified against the CA but not required; with {@code verify: ca} it is required;
 * with {@code verify: full} its CN must also equal the user name of the StartupMessage, which
 * only the startup handler knows: it calls {@link #clientCertificateRefusal} (PostgreSQL's
 * {@code clientcert=verify-full}).
 */
public final class ServerTls {
    private static final Logger log = LoggerFactory.getLogger(ServerTls.class);
    /** The ALPN protocol name PostgreSQL 17 registered; required for direct TLS negotiation. */
    public static final String ALPN_POSTGRESQL = "postgresql";

    private final PwgateConfig.Tls config;
    private final TlsProvider provider;
    private final Clock clock;
    private final AtomicReference<Loaded> current = new AtomicReference<>();
    /** Hash of the last file contents a (re)load was attempted from, so a broken file is reported once. */
    private String lastAttempted;

    private record Loaded(SslContext context, X509Certificate certificate, String fingerprint) {}

    private ServerTls(PwgateConfig.Tls config, TlsProvider provider, Clock clock) {
        this.config = config;
        this.provider = provider;
        this.clock = clock;
    }

    /**
     * Builds the context from the config's files. Fails, naming the key and the file, when a file
     * is missing, unreadable or not PEM, when the key does not belong to the certificate, or when
     * the certificate is expired or not yet valid.
     */
    public static ServerTls load(PwgateConfig.Tls config, TlsProvider provider) throws TlsConfigException {
        return load(config, provider, Clock.systemUTC());
    }

    static ServerTls load(PwgateConfig.Tls config, TlsProvider provider, Clock clock) throws TlsConfigException {
        if (config.mode() == ClientTlsMode.DISABLE) {
            throw new IllegalArgumentException("tls.mode is disable: there is no server context to build");
        }
        if (config.cert().isEmpty() || config.key().isEmpty()) {
            throw new TlsConfigException("tls.cert and tls.key are required with tls.mode " + name(config.mode()));
        }
        ServerTls tls = new ServerTls(config, provider, clock);
        Loaded loaded = tls.build(tls.readFiles());
        tls.current.set(loaded);
        tls.lastAttempted = loaded.fingerprint();
        log.info("client TLS: mode {}, certificate {} (valid until {}), client certificates {}, {}",
                name(config.mode()), loaded.certificate().getSubjectX500Principal().getName(),
                loaded.certificate().getNotAfter().toInstant(), name(config.verify()), provider.description());
        return tls;
    }

    public ClientTlsMode mode() {
        return config.mode();
    }

    public ClientCertVerify verify() {
        return config.verify();
    }

    /** The context new connections get now. */
    public SslContext context() {
        return current.get().context();
    }

    /** The leaf certificate new connections are shown now. */
    public X509Certificate certificate() {
        return current.get().certificate();
    }

    /** A server-mode handler on the current context, for one client connection. */
    public SslHandler newHandler(ByteBufAllocator alloc) {
        return context().newHandler(alloc);
    }

    /**
     * Re-reads the files (SIGHUP, or a change seen by {@link #watch}). Returns true when a new
     * context is in force; on any problem the old one stays and the reason is logged.
     */
    public synchronized boolean reload() {
        Files files;
        try {
            files = readFiles();
        } catch (TlsConfigException e) {
            log.warn("client TLS reload refused, keeping the current certificate: {}", e.getMessage());
            return false;
        }
        lastAttempted = files.fingerprint();
        try {
            Loaded loaded = build(files);
            Loaded old = current.getAndSet(loaded);
            log.info("client TLS reloaded: certificate {} (valid until {}), was {}",
                    loaded.certificate().getSubjectX500Principal().getName(), loaded.certificate().getNotAfter().toInstant(),
                    old.certificate().getSubjectX500Principal().getName());
            return true;
        } catch (TlsConfigException e) {
            log.warn("client TLS reload refused, keeping the current certificate: {}", e.getMessage());
            return false;
        }
    }

    /**
     * Reloads when the files' contents change, checking every {@code interval} on the given
     * executor. A broken state is reported once, not at every poll. Cancel the returned future
     * to stop watching.
     */
    public ScheduledFuture<?> watch(ScheduledExecutorService executor, Duration interval) {
        long millis = Math.max(1, interval.toMillis());
        return executor.scheduleWithFixedDelay(this::pollOnce, millis, millis, TimeUnit.MILLISECONDS);
    }

    /** One poll: reload when the files differ from those of the last attempt. */
    synchronized void pollOnce() {
        try {
            String now = fingerprintQuietly();
            if (!now.equals(lastAttempted)) {
                reload();
                lastAttempted = now;
            }
        } catch (RuntimeException e) {
            log.warn("client TLS file check failed: {}", e.toString());
        }
    }

    /**
     * For {@code verify: ca|full}: why this connection's client certificate does not let
     * {@code user} in, or empty when it does (always empty with {@code verify: none}). A
     * connection without TLS has no certificate and is refused. The reason is for the log (it
     * names the certificate's CN and the user, no secret); the client should get the same
     * failure as any refused login.
     */
    public Optional<String> clientCertificateRefusal(Channel channel, String user) {
        if (config.verify() == ClientCertVerify.NONE) {
            return Optional.empty();
        }
        SslHandler ssl = channel.pipeline().get(SslHandler.class);
        if (ssl == null) {
            return Optional.of("tls.verify " + name(config.verify()) + " needs a client certificate, and the connection is not encrypted");
        }
        Certificate[] chain;
        try {
            chain = ssl.engine().getSession().getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return Optional.of("tls.verify " + name(config.verify()) + ": the client presented no certificate");
        }
        if (config.verify() == ClientCertVerify.CA) {
            return Optional.empty();
        }
        if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
            return Optional.of("tls.verify full: the client presented no X.509 certificate");
        }
        Optional<String> cn = commonName(leaf);
        if (cn.isEmpty()) {
            return Optional.of("tls.verify full: the client certificate has no CN");
        }
        if (!cn.get().equals(user)) {
            return Optional.of("tls.verify full: the client certificate's CN \"" + cn.get()
                    + "\" does not match the user name \"" + user + "\"");
        }
        return Optional.empty();
    }

    static Optional<String> commonName(X509Certificate cert) {
        try {
            LdapName name = new LdapName(cert.getSubjectX500Principal().getName());
            // RFC 2253 order is most specific last; PostgreSQL takes the (last) CN too.
            List<Rdn> rdns = name.getRdns();
            for (int i = rdns.size() - 1; i >= 0; i--) {
                if (rdns.get(i).getType().equalsIgnoreCase("CN")) {
                    return Optional.of(String.valueOf(rdns.get(i).getValue()));
                }
            }
        } catch (InvalidNameException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    private record Files(byte[] cert, byte[] key, Optional<byte[]> clientCa, String fingerprint) {}

    private Files readFiles() throws TlsConfigException {
        Path certFile = config.cert().orElseThrow();
        Path keyFile = config.key().orElseThrow();
        byte[] cert = PemFiles.read("tls.cert", certFile);
        byte[] key = PemFiles.read("tls.key", keyFile);
        Optional<byte[]> ca = Optional.empty();
        if (config.clientCa().isPresent()) {
            ca = Optional.of(PemFiles.read("tls.client_ca", config.clientCa().get()));
        }
        return new Files(cert, key, ca, fingerprint(cert, key, ca.orElse(new byte[0])));
    }

    /** The files' hash, or a marker of which one cannot be read (so that its coming back is seen). */
    private String fingerprintQuietly() {
        try {
            return readFiles().fingerprint();
        } catch (TlsConfigException e) {
            return "unreadable:" + e.getMessage();
        }
    }

    private static String fingerprint(byte[]... parts) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (byte[] p : parts) {
                sha.update(Integer.toString(p.length).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                sha.update((byte) ':');
                sha.update(p);
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private Loaded build(Files files) throws TlsConfigException {
        Path certFile = config.cert().orElseThrow();
        Path keyFile = config.key().orElseThrow();
        List<X509Certificate> chain = PemFiles.certificates("tls.cert", certFile, files.cert());
        PrivateKey key = PemFiles.privateKey("tls.key", keyFile, files.key());
        X509Certificate leaf = chain.get(0);
        if (!PemFiles.matches(key, leaf.getPublicKey())) {
            throw new TlsConfigException("tls.key: the private key in " + keyFile + " does not match the certificate in "
                    + certFile + " (" + leaf.getSubjectX500Principal().getName() + ")");
        }
        PemFiles.checkValidity("tls.cert", certFile, leaf, clock.instant());
        SslContextBuilder builder = provider.apply(SslContextBuilder.forServer(key, chain))
                .applicationProtocolConfig(new ApplicationProtocolConfig(
                        ApplicationProtocolConfig.Protocol.ALPN,
                        // Netty's OpenSSL binding supports only these two; the direct-TLS path
                        // checks the outcome itself (TlsNegotiationHandler).
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ALPN_POSTGRESQL));
        if (files.clientCa().isPresent()) {
            Path caFile = config.clientCa().get();
            List<X509Certificate> cas = PemFiles.certificates("tls.client_ca", caFile, files.clientCa().get());
            builder.trustManager(cas)
                    .clientAuth(config.verify() == ClientCertVerify.NONE ? ClientAuth.OPTIONAL : ClientAuth.REQUIRE);
        }
        try {
            return new Loaded(builder.build(), leaf, files.fingerprint());
        } catch (SSLException | RuntimeException e) {
            throw new TlsConfigException("tls.cert/tls.key: " + certFile + " and " + keyFile
                    + " could not be used for TLS: " + e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    static String name(Enum<?> value) {
        return value.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
