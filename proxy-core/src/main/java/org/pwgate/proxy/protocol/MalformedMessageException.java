package org.pwgate.proxy.protocol;

/**
 * A message body does not follow its format (missing terminator, short field). The message text
 * describes the problem, never the bytes, so it is safe to log.
 */
public final class MalformedMessageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public MalformedMessageException(String message) {
        super(message, null, false, false);
    }
}
