package org.pwgate.proxy.backend;

import io.netty.channel.Channel;
import java.util.List;
import java.util.Optional;

/** Backend sessions for relay tests, which start from a login that has already happened. */
public final class BackendSessions {
    private BackendSessions() {}

    public static BackendSession loggedIn(Channel channel) {
        return new BackendSession(channel, List.of(), Optional.empty(), (byte) 'I');
    }
}
