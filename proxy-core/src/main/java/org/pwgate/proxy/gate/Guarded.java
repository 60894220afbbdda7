package org.pwgate.proxy.gate;

/** A restricted statement and the guard the gate put in front of it (one audit line when it is decided). */
record Guarded(Analysis analysis, Decision decision) {}
