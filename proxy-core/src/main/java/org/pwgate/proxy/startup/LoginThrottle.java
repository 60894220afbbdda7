package org.pwgate.proxy.startup;

import java.net.SocketAddress;
import java.time.Duration;

/**
 * The failed-login throttle as the startup handler sees it: how long to hold back a refusal. The
 * handler waits with a timer on the event loop, never by blocking.
 */
public interface LoginThrottle {
    Duration onFailure(String user, SocketAddress client);

    void onSuccess(String user, SocketAddress client);

    LoginThrottle NONE = new LoginThrottle() {
        @Override
        public Duration onFailure(String user, SocketAddress client) {
            return Duration.ZERO;
        }

        @Override
        public void onSuccess(String user, SocketAddress client) {}
    };
}
