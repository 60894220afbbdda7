package org.pwgate.proxy.gate;

/**
 * A restricted statement and the guard the gate put in front of it (one audit line when it is
 * decided). {@code analysis} is null for the refusal of a cancelled statement, which is no
 * restricted statement and is not audited.
 */
record Guarded(Analysis analysis, Decision decision) {}
