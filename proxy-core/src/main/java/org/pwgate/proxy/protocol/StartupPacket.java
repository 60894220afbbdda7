package org.pwgate.proxy.protocol;

import io.netty.buffer.ByteBuf;

/**
 * One untagged packet of the startup phase (SSLRequest, GSSENCRequest, CancelRequest,
 * StartupMessage): its body after the length word, starting with the int32 request code.
 * Ownership as for {@link Frame}: whoever consumes it releases it.
 */
public record StartupPacket(ByteBuf body) {
    public void release() {
        body.release();
    }

    @Override
    public String toString() {
        return "StartupPacket[" + body.readableBytes() + " bytes]";
    }
}
