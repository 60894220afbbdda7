package org.pwgate.proxy.backend;

import org.pwgate.proxy.protocol.BackendMessage.ErrorResponse;

/**
 * Logging in to the backend failed. {@code forClient} is what the client is told (the backend's
 * own ErrorResponse when it sent one); the exception message is for the log: it says what went
 * wrong and how to fix it, and never holds a password or hash.
 */
public final class BackendLoginException extends Exception {
    private static final long serialVersionUID = 1L;
    private final transient ErrorResponse forClient;

    public BackendLoginException(ErrorResponse forClient, String logReason) {
        super(logReason, null, false, false);
        this.forClient = forClient;
    }

    public ErrorResponse forClient() {
        return forClient;
    }
}
