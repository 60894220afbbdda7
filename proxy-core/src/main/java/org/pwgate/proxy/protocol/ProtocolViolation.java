package org.pwgate.proxy.protocol;

/**
 * The frame decoder met input that is not the protocol (oversized or impossible length). It
 * emits this instead of throwing and then ignores the rest of the stream; the handler that
 * receives it answers 08P01 and closes. {@code message} never quotes the input.
 */
public record ProtocolViolation(String message) {}
