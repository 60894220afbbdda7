package org.pwgate.proxy.tls;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throw-away certificate authority made with the openssl CLI at test time: no key or
 * certificate is ever committed. Each instance is one CA in its own folder. The integration tests
 * use it too, through proxy-core's test jar.
 */
public final class TestPki {
    private static final DateTimeFormatter ASN1_TIME = DateTimeFormatter.ofPattern("yyyyMMddHHmmss'Z'").withZone(ZoneOffset.UTC);

    public enum KeyKind { EC_PKCS8, RSA_PKCS1, EC_SEC1 }

    public record Issued(Path cert, Path key) {}

    private final Path dir;

    private TestPki(Path dir) {
        this.dir = dir;
    }

    public static TestPki create(Path dir, String name) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        TestPki pki = new TestPki(dir);
        pki.openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key");
        pki.openssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=" + name, "-days", "3", "-out", "ca.crt");
        Files.writeString(dir.resolve("index.txt"), "");
        Files.writeString(dir.resolve("serial"), "1000\n");
        Files.writeString(dir.resolve("ca.cnf"), """
                [ca]
                default_ca = test_ca
                [test_ca]
                dir = .
                database = index.txt
                new_certs_dir = .
                serial = serial
                certificate = ca.crt
                private_key = ca.key
                default_md = sha256
                policy = any
                unique_subject = no
                copy_extensions = none
                [any]
                commonName = supplied
                """);
        return pki;
    }

    public Path caCert() {
        return dir.resolve("ca.crt");
    }

    /** A server certificate for 127.0.0.1 and localhost, valid from an hour ago for a day. */
    public Issued server(String name) throws IOException, InterruptedException {
        return server(name, KeyKind.EC_PKCS8, Instant.now().minus(Duration.ofHours(1)), Instant.now().plus(Duration.ofDays(1)));
    }

    public Issued server(String name, KeyKind kind, Instant notBefore, Instant notAfter) throws IOException, InterruptedException {
        return issue(name, "localhost", kind, notBefore, notAfter,
                "subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\nbasicConstraints = CA:FALSE\n");
    }

    /** A client certificate whose CN is {@code cn} (the user name PostgreSQL compares with verify-full). */
    public Issued client(String name, String cn) throws IOException, InterruptedException {
        return issue(name, cn, KeyKind.EC_PKCS8, Instant.now().minus(Duration.ofHours(1)), Instant.now().plus(Duration.ofDays(1)),
                "extendedKeyUsage = clientAuth\nbasicConstraints = CA:FALSE\n");
    }

    /** The key as unencrypted PKCS#8 DER, the form pgjdbc's sslkey reads. */
    public Path pkcs8Der(Issued issued) throws IOException, InterruptedException {
        Path der = issued.key().resolveSibling(issued.key().getFileName() + ".pk8");
        openssl("pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in", issued.key().toString(), "-out", der.toString());
        return der;
    }

    private Issued issue(String name, String cn, KeyKind kind, Instant notBefore, Instant notAfter, String extensions)
            throws IOException, InterruptedException {
        String key = name + ".key";
        String csr = name + ".csr";
        String crt = name + ".crt";
        switch (kind) {
            case EC_PKCS8 -> openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key);
            case RSA_PKCS1 -> openssl("genrsa", "-traditional", "-out", key, "2048");
            case EC_SEC1 -> openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key);
        }
        openssl("req", "-new", "-key", key, "-subj", "/CN=" + cn, "-out", csr);
        String ext = name + ".ext";
        Files.writeString(dir.resolve(ext), "[ext]\n" + extensions);
        openssl("ca", "-batch", "-notext", "-config", "ca.cnf", "-extfile", ext, "-extensions", "ext",
                "-startdate", ASN1_TIME.format(notBefore), "-enddate", ASN1_TIME.format(notAfter),
                "-in", csr, "-out", crt);
        return new Issued(dir.resolve(crt), dir.resolve(key));
    }

    private void openssl(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("openssl " + String.join(" ", args) + " failed: " + new String(out, StandardCharsets.UTF_8));
        }
    }
}
