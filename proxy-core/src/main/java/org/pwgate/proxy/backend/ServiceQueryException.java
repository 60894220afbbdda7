package org.pwgate.proxy.backend;

/**
 * A query on the service connection failed: the backend's error (SQLSTATE and message) or a lost
 * connection. The message never holds the query text.
 */
public final class ServiceQueryException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String sqlState;

    public ServiceQueryException(String sqlState, String message) {
        super(message, null, false, false);
        this.sqlState = sqlState;
    }

    public String sqlState() {
        return sqlState;
    }

    @Override
    public String toString() {
        return "ServiceQueryException[" + sqlState + "]: " + getMessage();
    }
}
