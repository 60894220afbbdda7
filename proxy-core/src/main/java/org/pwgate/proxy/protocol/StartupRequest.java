package org.pwgate.proxy.protocol;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** The untagged requests a client may open a connection with. Decoded by {@link StartupCodec}. */
public sealed interface StartupRequest {
    int SSL_REQUEST_CODE = 80877103;
    int GSSENC_REQUEST_CODE = 80877104;
    int CANCEL_REQUEST_CODE = 80877102;
    int PROTOCOL_3_0 = 3 << 16;

    record SslRequest() implements StartupRequest {}

    record GssEncRequest() implements StartupRequest {}

    /** A cancel key; printed without its secret. */
    record CancelRequest(int processId, int secretKey) implements StartupRequest {
        @Override
        public String toString() {
            return "CancelRequest[pid=" + processId + "]";
        }
    }

    /**
     * A StartupMessage of protocol 3.x. {@code parameters} keeps the client's order. The toString
     * leaves out values: {@code options} may carry anything.
     */
    record StartupMessage(int majorVersion, int minorVersion, Map<String, String> parameters) implements StartupRequest {
        public StartupMessage {
            parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
        }

        @Override
        public String toString() {
            return "StartupMessage[" + majorVersion + "." + minorVersion + ", " + parameters.keySet() + "]";
        }
    }

    /** Any other request code: protocol 2, protocol 4+, or garbage. */
    record UnsupportedProtocol(int code) implements StartupRequest {}
}
