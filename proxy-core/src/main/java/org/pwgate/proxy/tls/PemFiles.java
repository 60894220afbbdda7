package org.pwgate.proxy.tls;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads PEM certificates and private keys the way an operator's files come: PKCS#8
 * ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY") and SEC1 ("EC PRIVATE KEY") keys, certificate
 * chains leaf first. Every failure is a {@link TlsConfigException} naming the config key and
 * the file; key bytes never reach a message.
 */
final class PemFiles {
    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \\1-----", Pattern.DOTALL);
    private static final byte[] OID_RSA = {0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01};
    private static final byte[] OID_EC_PUBLIC_KEY = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};

    private PemFiles() {}

    record Block(String type, byte[] der) {}

    /** The file's bytes; missing, unreadable and non-regular files are named as such. */
    static byte[] read(String key, Path file) throws TlsConfigException {
        try {
            if (Files.isDirectory(file)) {
                throw new TlsConfigException(key + ": " + file + " is a directory, not a file");
            }
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new TlsConfigException(key + ": " + file + " does not exist");
        } catch (AccessDeniedException e) {
            throw new TlsConfigException(key + ": " + file + " is not readable (permission denied)");
        } catch (IOException e) {
            throw new TlsConfigException(key + ": " + file + " could not be read: " + e.getClass().getSimpleName());
        }
    }

    static List<Block> blocks(String key, Path file, byte[] content) throws TlsConfigException {
        Matcher m = BLOCK.matcher(new String(content, StandardCharsets.US_ASCII));
        List<Block> out = new ArrayList<>();
        while (m.find()) {
            String body = m.group(2);
            if (body.contains("Proc-Type:") || body.contains("DEK-Info:")) {
                throw new TlsConfigException(key + ": " + file + " holds an encrypted private key; pwgate needs it unencrypted");
            }
            try {
                out.add(new Block(m.group(1), Base64.getMimeDecoder().decode(body.strip())));
            } catch (IllegalArgumentException e) {
                throw new TlsConfigException(key + ": " + file + " has a " + m.group(1) + " block that is not valid base64");
            }
        }
        if (out.isEmpty()) {
            throw new TlsConfigException(key + ": " + file + " is not a PEM file (no -----BEGIN ...----- block)");
        }
        return out;
    }

    /** All certificates in the file, in file order. */
    static List<X509Certificate> certificates(String key, Path file) throws TlsConfigException {
        return certificates(key, file, read(key, file));
    }

    static List<X509Certificate> certificates(String key, Path file, byte[] content) throws TlsConfigException {
        List<X509Certificate> certs = new ArrayList<>();
        CertificateFactory factory;
        try {
            factory = CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("the JDK has no X.509 certificate factory", e);
        }
        for (Block b : blocks(key, file, content)) {
            if (!b.type().equals("CERTIFICATE") && !b.type().equals("TRUSTED CERTIFICATE")) {
                continue;
            }
            try {
                certs.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(b.der())));
            } catch (CertificateException e) {
                throw new TlsConfigException(key + ": " + file + " has a CERTIFICATE block that is not a valid X.509 certificate");
            }
        }
        if (certs.isEmpty()) {
            throw new TlsConfigException(key + ": " + file + " holds no certificate (no -----BEGIN CERTIFICATE----- block)");
        }
        return certs;
    }

    static PrivateKey privateKey(String key, Path file, byte[] content) throws TlsConfigException {
        for (Block b : blocks(key, file, content)) {
            byte[] pkcs8;
            switch (b.type()) {
                case "PRIVATE KEY" -> pkcs8 = b.der();
                case "RSA PRIVATE KEY" -> pkcs8 = pkcs8(algorithmIdentifier(OID_RSA, new byte[] {0x05, 0x00}), b.der());
                case "EC PRIVATE KEY" -> pkcs8 = pkcs8(algorithmIdentifier(OID_EC_PUBLIC_KEY, sec1Curve(key, file, b.der())), b.der());
                case "ENCRYPTED PRIVATE KEY" -> throw new TlsConfigException(
                        key + ": " + file + " holds an encrypted private key; pwgate needs it unencrypted");
                default -> {
                    continue;
                }
            }
            for (String algorithm : List.of("RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS")) {
                try {
                    return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
                } catch (GeneralSecurityException e) {
                    // not this algorithm: try the next
                }
            }
            throw new TlsConfigException(key + ": " + file + " holds a private key of an unsupported or malformed kind");
        }
        throw new TlsConfigException(key + ": " + file + " holds no private key (no -----BEGIN PRIVATE KEY----- block)");
    }

    /** Refuses a certificate outside its validity period, naming the file and the dates. */
    static void checkValidity(String key, Path file, X509Certificate cert, Instant now) throws TlsConfigException {
        try {
            cert.checkValidity(Date.from(now));
        } catch (CertificateExpiredException e) {
            throw new TlsConfigException(key + ": the certificate in " + file + " (" + cert.getSubjectX500Principal().getName()
                    + ") expired on " + cert.getNotAfter().toInstant());
        } catch (CertificateNotYetValidException e) {
            throw new TlsConfigException(key + ": the certificate in " + file + " (" + cert.getSubjectX500Principal().getName()
                    + ") is not valid before " + cert.getNotBefore().toInstant());
        }
    }

    /**
     * Whether the private key belongs to the certificate: a signature made with the key must
     * verify with the certificate's public key. Works for every key type the JDK signs with.
     */
    static boolean matches(PrivateKey privateKey, PublicKey publicKey) {
        String algorithm = switch (privateKey.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "Ed448", "EdDSA" -> privateKey.getAlgorithm();
            case "RSASSA-PSS" -> "RSASSA-PSS";
            default -> null;
        };
        if (algorithm == null || !privateKey.getAlgorithm().equals(publicKey.getAlgorithm())) {
            return false;
        }
        try {
            byte[] challenge = new byte[32];
            new SecureRandom().nextBytes(challenge);
            Signature signer = Signature.getInstance(algorithm);
            if (algorithm.equals("RSASSA-PSS")) {
                signer.setParameter(new java.security.spec.PSSParameterSpec("SHA-256", "MGF1",
                        java.security.spec.MGF1ParameterSpec.SHA256, 32, 1));
            }
            signer.initSign(privateKey);
            signer.update(challenge);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            if (algorithm.equals("RSASSA-PSS")) {
                verifier.setParameter(new java.security.spec.PSSParameterSpec("SHA-256", "MGF1",
                        java.security.spec.MGF1ParameterSpec.SHA256, 32, 1));
            }
            verifier.initVerify(publicKey);
            verifier.update(challenge);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    // DER helpers for wrapping PKCS#1 and SEC1 keys into PKCS#8 PrivateKeyInfo.

    private static byte[] pkcs8(byte[] algorithmIdentifier, byte[] privateKey) {
        return tlv(0x30, concat(new byte[] {0x02, 0x01, 0x00}, algorithmIdentifier, tlv(0x04, privateKey)));
    }

    private static byte[] algorithmIdentifier(byte[] oid, byte[] parameters) {
        return tlv(0x30, concat(oid, parameters));
    }

    /** The named-curve OID TLV from an ECPrivateKey's [0] parameters. */
    private static byte[] sec1Curve(String key, Path file, byte[] der) throws TlsConfigException {
        try {
            int[] seq = header(der, 0);
            int p = seq[1];
            int end = seq[1] + seq[2];
            while (p < end) {
                int[] h = header(der, p);
                if ((der[p] & 0xff) == 0xa0) {
                    int[] oid = header(der, h[1]);
                    return Arrays.copyOfRange(der, h[1], oid[1] + oid[2]);
                }
                p = h[1] + h[2];
            }
        } catch (IndexOutOfBoundsException e) {
            // fall through to the error
        }
        throw new TlsConfigException(key + ": " + file + " holds an EC private key without a named curve");
    }

    /** {tag, content offset, content length} of the TLV at {@code at}. */
    private static int[] header(byte[] der, int at) {
        int tag = der[at] & 0xff;
        int len = der[at + 1] & 0xff;
        int offset = at + 2;
        if (len >= 0x80) {
            int n = len & 0x7f;
            len = 0;
            for (int i = 0; i < n; i++) {
                len = (len << 8) | (der[offset + i] & 0xff);
            }
            offset += n;
        }
        if (offset + len > der.length) {
            throw new IndexOutOfBoundsException("truncated DER");
        }
        return new int[] {tag, offset, len};
    }

    private static byte[] tlv(int tag, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 6);
        out.write(tag);
        int len = content.length;
        if (len < 0x80) {
            out.write(len);
        } else if (len < 0x100) {
            out.write(0x81);
            out.write(len);
        } else if (len < 0x10000) {
            out.write(0x82);
            out.write(len >>> 8);
            out.write(len);
        } else {
            out.write(0x83);
            out.write(len >>> 16);
            out.write(len >>> 8);
            out.write(len);
        }
        out.writeBytes(content);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
