package org.pwgate.proxy.protocol;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Backend messages pwgate inspects or produces. Everything else travels as an opaque
 * {@link Frame}; {@link Other} stands for a tag pwgate does not model (carried, not thrown).
 */
public sealed interface BackendMessage {

    int AUTH_OK = 0;
    int AUTH_CLEARTEXT = 3;
    int AUTH_MD5 = 5;
    int AUTH_SASL = 10;

    record AuthenticationOk() implements BackendMessage {}

    record AuthenticationMd5Password(byte[] salt) implements BackendMessage {
        public AuthenticationMd5Password {
            if (salt.length != 4) {
                throw new IllegalArgumentException("an MD5 salt has 4 bytes");
            }
            salt = salt.clone();
        }

        @Override
        public byte[] salt() {
            return salt.clone();
        }
    }

    record AuthenticationCleartextPassword() implements BackendMessage {}

    record AuthenticationSasl(List<String> mechanisms) implements BackendMessage {
        public AuthenticationSasl {
            mechanisms = List.copyOf(mechanisms);
        }
    }

    /** Any other authentication request (Kerberos, GSS, SSPI, SASL continue…), by its code. */
    record AuthenticationOther(int code) implements BackendMessage {}

    record ParameterStatus(String name, String value) implements BackendMessage {}

    record BackendKeyData(int processId, int secretKey) implements BackendMessage {
        @Override
        public String toString() {
            return "BackendKeyData[pid=" + processId + "]";
        }
    }

    /** {@code status} is 'I' (idle), 'T' (in a transaction) or 'E' (in a failed transaction). */
    record ReadyForQuery(byte status) implements BackendMessage {}

    /**
     * ErrorResponse: fields by their one-letter code (S, V, C, M, D, H, …), in wire order. The
     * message may quote user input (PostgreSQL's own errors do), so pwgate logs only S and C.
     */
    record ErrorResponse(Map<Character, String> fields) implements BackendMessage {
        public ErrorResponse {
            fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
        }

        public static ErrorResponse of(String severity, String sqlState, String message) {
            Map<Character, String> f = new LinkedHashMap<>();
            f.put('S', severity);
            f.put('V', severity);
            f.put('C', sqlState);
            f.put('M', message);
            return new ErrorResponse(f);
        }

        public static ErrorResponse fatal(String sqlState, String message) {
            return of("FATAL", sqlState, message);
        }

        public static ErrorResponse error(String sqlState, String message) {
            return of("ERROR", sqlState, message);
        }

        public String severity() {
            return fields.getOrDefault('V', fields.getOrDefault('S', ""));
        }

        public String sqlState() {
            return fields.getOrDefault('C', "");
        }

        public String message() {
            return fields.getOrDefault('M', "");
        }

        /** FATAL or PANIC: the backend closes the connection after it. */
        public boolean isFatal() {
            String s = severity();
            return s.equals("FATAL") || s.equals("PANIC");
        }
    }

    record NoticeResponse(Map<Character, String> fields) implements BackendMessage {
        public NoticeResponse {
            fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
        }
    }

    record RowDescription(List<String> columnNames) implements BackendMessage {
        public RowDescription {
            columnNames = List.copyOf(columnNames);
        }
    }

    /** A row in text format; an empty Optional is SQL NULL. */
    record DataRow(List<Optional<String>> values) implements BackendMessage {
        public DataRow {
            values = Collections.unmodifiableList(new java.util.ArrayList<>(values));
        }

        @Override
        public String toString() {
            return "DataRow[" + values.size() + " columns]";
        }
    }

    record CommandComplete(String commandTag) implements BackendMessage {}

    record ParseComplete() implements BackendMessage {}

    record BindComplete() implements BackendMessage {}

    record NoData() implements BackendMessage {}

    record EmptyQueryResponse() implements BackendMessage {}

    /** Answers a 3.x StartupMessage: the newest minor version pwgate speaks, and the {@code _pq_.} options it ignored. */
    record NegotiateProtocolVersion(int newestMinorVersion, List<String> unrecognisedOptions) implements BackendMessage {
        public NegotiateProtocolVersion {
            unrecognisedOptions = List.copyOf(unrecognisedOptions);
        }
    }

    record Other(byte tag) implements BackendMessage {}
}
