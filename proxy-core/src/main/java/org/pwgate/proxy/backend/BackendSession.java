package org.pwgate.proxy.backend;

import io.netty.channel.Channel;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.pwgate.proxy.protocol.BackendMessage.BackendKeyData;
import org.pwgate.proxy.protocol.BackendMessage.ParameterStatus;
import org.pwgate.proxy.protocol.Frame;

/**
 * A backend connection that finished its login and reported ReadyForQuery. Its pipeline still
 * holds the login handler under {@link BackendConnector#LOGIN_HANDLER}: whoever takes the session
 * over replaces it and then takes {@link #takeEarlyFrames()} (messages that arrived in between).
 */
public final class BackendSession {
    private final Channel channel;
    private final List<ParameterStatus> parameters;
    private final Optional<BackendKeyData> key;
    private final byte transactionStatus;
    private final List<Frame> earlyFrames = new ArrayList<>();

    BackendSession(Channel channel, List<ParameterStatus> parameters, Optional<BackendKeyData> key, byte transactionStatus) {
        this.channel = channel;
        this.parameters = List.copyOf(parameters);
        this.key = key;
        this.transactionStatus = transactionStatus;
    }

    public Channel channel() {
        return channel;
    }

    public List<ParameterStatus> parameters() {
        return parameters;
    }

    public Optional<BackendKeyData> key() {
        return key;
    }

    public byte transactionStatus() {
        return transactionStatus;
    }

    void addEarlyFrame(Frame frame) {
        earlyFrames.add(frame);
    }

    /** Frames read after ReadyForQuery and before the new owner replaced the login handler; ownership moves to the caller. */
    public List<Frame> takeEarlyFrames() {
        List<Frame> taken = List.copyOf(earlyFrames);
        earlyFrames.clear();
        return taken;
    }

    /** Closes the connection and releases whatever it still holds. */
    public void close() {
        takeEarlyFrames().forEach(Frame::release);
        channel.close();
    }
}
