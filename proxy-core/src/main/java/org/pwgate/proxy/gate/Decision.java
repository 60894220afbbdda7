package org.pwgate.proxy.gate;

/**
 * What the gate does with a statement that is about to run.
 *
 * <ul>
 *   <li>{@code NONE}: forward it unchanged;</li>
 *   <li>{@code GUARD}: run the membership guard in front of it (members pass);</li>
 *   <li>{@code REFUSE}: run a guard that always raises {@code sqlState}/{@code message} in front of
 *       it, so that it is refused in-band, with the transaction state PostgreSQL itself leaves.</li>
 * </ul>
 */
record Decision(Action action, String sqlState, String message) {

    enum Action { NONE, GUARD, REFUSE }

    static final Decision NONE = new Decision(Action.NONE, "", "");

    static Decision guard(String gateRole) {
        return new Decision(Action.GUARD, GatePolicy.INSUFFICIENT_PRIVILEGE, GatePolicy.membershipMessage(gateRole));
    }

    static Decision refuse(String sqlState, String message) {
        return new Decision(Action.REFUSE, sqlState, message);
    }

    boolean stricterThan(Decision other) {
        return action.ordinal() > other.action.ordinal();
    }
}
