package org.pwgate.proxy.session;

import java.net.SocketAddress;

/**
 * What pwgate knows about one client session. Confined to the session's event loop (the client
 * channel and its backend channel share one), so it needs no locks.
 *
 * <p>The relay updates the lexing settings from the backend's ParameterStatus messages; the gate
 * reads them to classify statements the way the server will lex them.
 */
public final class SessionState {
    private final long sessionId;
    private final SocketAddress clientAddress;
    private final String user;
    private final String database;

    private String clientEncoding = "UTF8";
    private boolean standardConformingStrings = true;
    private String serverVersion = "";
    private int serverMajor = 17;
    private String sessionAuthorization;
    private boolean superuser;

    public SessionState(long sessionId, SocketAddress clientAddress, String user, String database) {
        this.sessionId = sessionId;
        this.clientAddress = clientAddress;
        this.user = user;
        this.database = database;
        this.sessionAuthorization = user;
    }

    /** Applies one ParameterStatus (name, value) from the backend. */
    public void onParameterStatus(String name, String value) {
        switch (name) {
            case "client_encoding" -> clientEncoding = value;
            case "standard_conforming_strings" -> standardConformingStrings = "on".equalsIgnoreCase(value);
            case "server_version" -> {
                serverVersion = value;
                serverMajor = parseMajor(value);
            }
            case "session_authorization" -> sessionAuthorization = value;
            case "is_superuser" -> superuser = "on".equalsIgnoreCase(value);
            default -> { }
        }
    }

    static int parseMajor(String version) {
        int i = 0;
        while (i < version.length() && Character.isDigit(version.charAt(i))) {
            i++;
        }
        try {
            return i == 0 ? 17 : Integer.parseInt(version.substring(0, i));
        } catch (NumberFormatException e) {
            return 17;
        }
    }

    public long sessionId() {
        return sessionId;
    }

    public SocketAddress clientAddress() {
        return clientAddress;
    }

    public String user() {
        return user;
    }

    public String database() {
        return database;
    }

    public String clientEncoding() {
        return clientEncoding;
    }

    public boolean standardConformingStrings() {
        return standardConformingStrings;
    }

    public String serverVersion() {
        return serverVersion;
    }

    public int serverMajor() {
        return serverMajor;
    }

    public String sessionAuthorization() {
        return sessionAuthorization;
    }

    /** The backend's is_superuser report for the session user (not the current role after SET ROLE). */
    public boolean superuser() {
        return superuser;
    }
}
