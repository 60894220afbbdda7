package org.pwgate.proxy.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.pwgate.auth.AuthOutcome;
import org.pwgate.classifier.Kind;

/**
 * pwgate's metrics, named for what happened at the call site, over one Micrometer
 * {@link PrometheusMeterRegistry}. Built once by the composition root and passed by constructor;
 * thread-safe (every session on every event loop shares it) and cheap on the hot path: every
 * tagged counter is created here, up front, so a call is an array or EnumMap read and an atomic
 * add, never a registry lookup; bytes go to a {@link LongAdder} that Prometheus reads at scrape.
 *
 * <p>Series, as Prometheus shows them:
 * <pre>
 *   pwgate_client_connections                         open client connections
 *   pwgate_client_connections_accepted_total          accepted by the listener
 *   pwgate_client_connections_refused_total{reason="limit"}   over max_client_connections (53300)
 *   pwgate_backend_connections                        open backend sessions
 *   pwgate_authentications_total{outcome, reason}     accepted/none, refused/WRONG_PASSWORD, …
 *   pwgate_login_throttle_delays_total                failed logins answered late by the throttle
 *   pwgate_login_throttle_delay_seconds_total         the time they were held back, added up
 *   pwgate_restricted_statements_total{verdict, kind} allowed|refused by the gate, per classifier kind
 *   pwgate_guard_injections_total                     guards the gate put in front of a statement
 *   pwgate_client_bytes_total{direction}              in: read from clients; out: written to clients
 *   pwgate_query_round_trip_seconds                   Query/Sync to ReadyForQuery, as the client sees it
 *   pwgate_gate_analysis_ahead_seconds                long texts the gate analysed off the event loop
 *   pwgate_config_reloads_total{outcome}              applied|unchanged|invalid|error
 * </pre>
 * plus the JVM's memory, GC, threads, CPU and uptime. The authentication reason is a metrics tag
 * although the client never sees it (every refusal reads 28P01 to the client): operators need to
 * tell a password-guessing wave (WRONG_PASSWORD) from expired accounts. No tag ever holds a user
 * name, an address or statement text, so the series count is fixed.
 */
public final class PwgateMetrics implements AutoCloseable {
    /** Prometheus text exposition format 0.0.4, what {@link #scrape()} returns. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    /** The outcomes of a configuration reload. */
    public enum Reload {
        /** The file was valid and its live-changeable part was published. */
        APPLIED,
        /** The file was valid and held nothing new. */
        UNCHANGED,
        /** The file failed validation; the running config stays. */
        INVALID,
        /** The file could not be read. */
        ERROR;

        String tag() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** A refusal that is not about the password at all: the credential source could not answer. */
    public static final String SOURCE_UNAVAILABLE = "SOURCE_UNAVAILABLE";

    /** Round-trip buckets: from a cached point query on loopback to a report query. */
    private static final Duration[] ROUND_TRIP_BUCKETS = {
        Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(50),
        Duration.ofMillis(100), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(5),
        Duration.ofSeconds(30),
    };

    private final PrometheusMeterRegistry registry;
    private final JvmGcMetrics gc;

    private final AtomicInteger clientsOpen = new AtomicInteger();
    private final AtomicInteger backendsOpen = new AtomicInteger();
    private final Counter clientsAccepted;
    private final Counter clientsRefusedByLimit;
    private final Counter authAccepted;
    private final Map<AuthOutcome.Reason, Counter> authRefused = new EnumMap<>(AuthOutcome.Reason.class);
    private final Counter authSourceUnavailable;
    private final Counter throttleDelays;
    private final Counter throttleDelaySeconds;
    private final Map<Kind, Counter> restrictedAllowed = new EnumMap<>(Kind.class);
    private final Map<Kind, Counter> restrictedRefused = new EnumMap<>(Kind.class);
    private final Counter guardInjections;
    private final LongAdder bytesIn = new LongAdder();
    private final LongAdder bytesOut = new LongAdder();
    private final Timer roundTrip;
    private final Timer analysisAhead;
    private final Map<Reload, Counter> reloads = new EnumMap<>(Reload.class);

    /** A fresh registry with pwgate's meters and the JVM's. */
    public PwgateMetrics() {
        this(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    }

    public PwgateMetrics(PrometheusMeterRegistry registry) {
        this.registry = registry;

        Gauge.builder("pwgate.client.connections", clientsOpen, AtomicInteger::get)
                .description("Open client connections").register(registry);
        clientsAccepted = Counter.builder("pwgate.client.connections.accepted")
                .description("Client connections accepted by the listener").register(registry);
        clientsRefusedByLimit = Counter.builder("pwgate.client.connections.refused").tag("reason", "limit")
                .description("Client connections refused with 53300 (max_client_connections)").register(registry);
        Gauge.builder("pwgate.backend.connections", backendsOpen, AtomicInteger::get)
                .description("Open backend sessions").register(registry);

        authAccepted = authCounter("accepted", "none");
        for (AuthOutcome.Reason r : AuthOutcome.Reason.values()) {
            authRefused.put(r, authCounter("refused", r.name()));
        }
        authSourceUnavailable = authCounter("refused", SOURCE_UNAVAILABLE);

        throttleDelays = Counter.builder("pwgate.login.throttle.delays")
                .description("Failed logins whose answer the throttle delayed").register(registry);
        throttleDelaySeconds = Counter.builder("pwgate.login.throttle.delay.seconds")
                .description("Time failed logins were held back by the throttle").register(registry);

        for (Kind k : Kind.values()) {
            if (k == Kind.OTHER) {
                continue;
            }
            restrictedAllowed.put(k, restrictedCounter("allowed", k));
            restrictedRefused.put(k, restrictedCounter("refused", k));
        }
        guardInjections = Counter.builder("pwgate.guard.injections")
                .description("Guards injected in front of restricted statements").register(registry);

        FunctionCounter.builder("pwgate.client.bytes", bytesIn, LongAdder::sum).tag("direction", "in")
                .baseUnit("bytes").description("Bytes read from clients").register(registry);
        FunctionCounter.builder("pwgate.client.bytes", bytesOut, LongAdder::sum).tag("direction", "out")
                .baseUnit("bytes").description("Bytes written to clients").register(registry);

        roundTrip = Timer.builder("pwgate.query.round.trip")
                .description("From a client's Query or Sync to the ReadyForQuery that answers it")
                .serviceLevelObjectives(ROUND_TRIP_BUCKETS)
                .register(registry);
        analysisAhead = Timer.builder("pwgate.gate.analysis.ahead")
                .description("Analyses of long query texts done off the event loop, and how long each took")
                .register(registry);

        for (Reload r : Reload.values()) {
            reloads.put(r, Counter.builder("pwgate.config.reloads").tag("outcome", r.tag())
                    .description("Configuration reloads by outcome").register(registry));
        }

        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        gc = new JvmGcMetrics();
        gc.bindTo(registry);
    }

    private Counter authCounter(String outcome, String reason) {
        return Counter.builder("pwgate.authentications").tag("outcome", outcome).tag("reason", reason)
                .description("Client authentications by outcome and reason").register(registry);
    }

    private Counter restrictedCounter(String verdict, Kind kind) {
        return Counter.builder("pwgate.restricted.statements").tag("verdict", verdict).tag("kind", kind.name())
                .description("Restricted statements by the gate's verdict and the classifier's kind").register(registry);
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Everything, in Prometheus text format ({@link #CONTENT_TYPE}). */
    public String scrape() {
        return registry.scrape();
    }

    // Client connections: accepted and closed pair up; a refusal by limit is also an accepted
    // connection (it was accepted, then answered 53300), so it is counted in both.

    public void clientAccepted() {
        clientsAccepted.increment();
        clientsOpen.incrementAndGet();
    }

    public void clientClosed() {
        clientsOpen.decrementAndGet();
    }

    public void clientRefusedByLimit() {
        clientsRefusedByLimit.increment();
    }

    public void backendOpened() {
        backendsOpen.incrementAndGet();
    }

    public void backendClosed() {
        backendsOpen.decrementAndGet();
    }

    public void authAccepted() {
        authAccepted.increment();
    }

    public void authRefused(AuthOutcome.Reason reason) {
        authRefused.get(reason).increment();
    }

    /** The credential source failed, so the login was refused with 57P03. */
    public void authSourceUnavailable() {
        authSourceUnavailable.increment();
    }

    /** The throttle held a failed login's answer back by {@code delay} (call only for a positive delay). */
    public void loginThrottled(Duration delay) {
        throttleDelays.increment();
        throttleDelaySeconds.increment(delay.toNanos() / 1e9);
    }

    /**
     * The gate's verdict on one restricted statement, once per kind the statement carries.
     * {@link Kind#OTHER} is not a restricted kind and is ignored.
     */
    public void restricted(Kind kind, boolean allowed) {
        Counter c = (allowed ? restrictedAllowed : restrictedRefused).get(kind);
        if (c != null) {
            c.increment();
        }
    }

    public void guardInjected() {
        guardInjections.increment();
    }

    /** Bytes read from a client, once per read batch. */
    public void addBytesIn(long n) {
        bytesIn.add(n);
    }

    /** Bytes written to a client, once per flush or batch. */
    public void addBytesOut(long n) {
        bytesOut.add(n);
    }

    /** One Query/Sync round trip, from the client's message to the ReadyForQuery answering it. */
    public void recordRoundTrip(long nanos) {
        roundTrip.record(nanos, TimeUnit.NANOSECONDS);
    }

    /** The gate analysed a long text off the event loop, in {@code nanos}. */
    public void analysedAhead(long nanos) {
        analysisAhead.record(nanos, TimeUnit.NANOSECONDS);
    }

    public void reloaded(Reload outcome) {
        reloads.get(outcome).increment();
    }

    @Override
    public void close() {
        gc.close();
        registry.close();
    }
}
