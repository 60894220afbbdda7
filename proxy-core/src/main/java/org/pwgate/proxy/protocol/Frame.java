package org.pwgate.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;

/**
 * One tagged protocol message as it travels: its type byte and its body (the bytes after the
 * length word, without it). The body is a retained slice of what was read; it is passed on
 * untouched unless someone inspects it. Ownership: whoever stops forwarding a frame releases it.
 */
public record Frame(byte tag, ByteBuf body) {

    /** Wire size: tag + length word + body. */
    public int wireLength() {
        return 1 + 4 + body.readableBytes();
    }

    public void release() {
        body.release();
    }

    public Frame retain() {
        body.retain();
        return this;
    }

    public static boolean isLive(ReferenceCounted r) {
        return r.refCnt() > 0;
    }

    @Override
    public String toString() {
        return "Frame['" + (char) tag + "', " + body.readableBytes() + " bytes]";
    }
}
