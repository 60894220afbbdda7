package org.pwgate.proxy.cancel;

/**
 * One CancelRequest, handed to the session it names. The session either has it forwarded to the
 * backend or settles it itself: it answered the cancel in band, or has nothing left to cancel.
 *
 * <p>Either way the client's cancel connection closes only when the cancel is done, as
 * PostgreSQL's does once it has signalled the backend. libpq and pgjdbc wait for that close before
 * they send the next statement, so that a cancel still on its way cannot hit that statement
 * instead. Calls after the first are ignored; any thread may call.
 */
public interface Cancel {

    /** Sends the request to the backend; the client's connection closes when the backend has closed its own. */
    void forward();

    /**
     * Ends the request without sending it: the client's connection closes now. {@code how} says
     * what the session did instead, for the log ("refused the statement in band").
     */
    void settle(String how);
}
