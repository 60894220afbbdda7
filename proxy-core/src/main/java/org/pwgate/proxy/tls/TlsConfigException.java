package org.pwgate.proxy.tls;

/**
 * A TLS file pwgate cannot use. The message names the config key and the file and says what is
 * wrong; it never contains key material.
 */
public final class TlsConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    public TlsConfigException(String message) {
        super(message);
    }

    public TlsConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
