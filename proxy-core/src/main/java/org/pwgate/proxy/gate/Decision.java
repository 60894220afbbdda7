package org.pwgate.proxy.gate;

import java.util.LinkedHashSet;
import java.util.List;

/**
 * What the gate does with a statement that is about to run.
 *
 * <ul>
 *   <li>{@code NONE}: forward it unchanged;</li>
 *   <li>{@code GUARD}: run the membership guard in front of it (members pass); with
 *       {@code ifJoining}, only when one of those roles is a member of the gate role (others pass
 *       too otherwise);</li>
 *   <li>{@code REFUSE}: run a guard that always raises {@code sqlState}/{@code message} in front of
 *       it, so that it is refused in-band, with the transaction state PostgreSQL itself leaves.</li>
 * </ul>
 */
record Decision(Action action, String sqlState, String message, List<String> ifJoining) {

    enum Action { NONE, GUARD, REFUSE }

    static final Decision NONE = new Decision(Action.NONE, "", "", List.of());

    Decision {
        ifJoining = List.copyOf(ifJoining);
    }

    static Decision guard(String gateRole) {
        return new Decision(Action.GUARD, GatePolicy.INSUFFICIENT_PRIVILEGE, GatePolicy.membershipMessage(gateRole), List.of());
    }

    /** A guard that lets only members pass if one of {@code roles} is a member of the gate role when it runs. */
    static Decision guardIfJoining(String gateRole, List<String> roles) {
        return new Decision(Action.GUARD, GatePolicy.INSUFFICIENT_PRIVILEGE, GatePolicy.membershipMessage(gateRole), roles);
    }

    static Decision refuse(String sqlState, String message) {
        return new Decision(Action.REFUSE, sqlState, message, List.of());
    }

    /**
     * Both this and {@code other}: for two guards that each ask only when certain roles are joined,
     * one that asks for any of them (the first alone would pass the second's roles unasked).
     */
    Decision and(Decision other) {
        if (other.stricterThan(this)) {
            return other;
        }
        if (action == Action.GUARD && other.action == Action.GUARD && !ifJoining.isEmpty() && !other.ifJoining.isEmpty()) {
            LinkedHashSet<String> both = new LinkedHashSet<>(ifJoining);
            both.addAll(other.ifJoining);
            return new Decision(action, sqlState, message, List.copyOf(both));
        }
        return this;
    }

    /** A guard for every case is stricter than one for some roles joined, whatever the roles. */
    boolean stricterThan(Decision other) {
        if (action != other.action) {
            return action.ordinal() > other.action.ordinal();
        }
        return action == Action.GUARD && ifJoining.isEmpty() && !other.ifJoining.isEmpty();
    }
}
