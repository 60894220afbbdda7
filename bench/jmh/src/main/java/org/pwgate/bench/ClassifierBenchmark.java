package org.pwgate.bench;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.pwgate.classifier.Classification;
import org.pwgate.classifier.Classifier;
import org.pwgate.classifier.LexSettings;

/**
 * The three budgets of issue 3: the fast path on a typical OLTP statement (<= 100 ns), a full
 * classification of a 200-byte ALTER ROLE (<= 2 us), and a 1 MB statement (<= 10 ms).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
public class ClassifierBenchmark {
    private static final LexSettings SETTINGS = LexSettings.DEFAULT;

    byte[] oltp;
    byte[] alterRole;
    byte[] large;

    @Setup
    public void setup() {
        // ~150 bytes, no role keyword: what most traffic looks like.
        oltp = ("SELECT o.id, o.status, o.total_cents, c.email FROM orders o JOIN customers c ON c.id = o.customer_id "
                + "WHERE o.id = $1 AND o.tenant_id = $2 LIMIT 1").getBytes(StandardCharsets.UTF_8);
        // ~200 bytes: a password change with comments, options and a continued literal.
        alterRole = ("/* rotate credentials */ ALTER ROLE app_service_account WITH LOGIN NOSUPERUSER INHERIT "
                + "CONNECTION LIMIT 20 ENCRYPTED PASSWORD 'md5a3556571e93b0d20722ba62be61e8c2d' "
                + "VALID UNTIL '2030-01-01 00:00:00+00'").getBytes(StandardCharsets.UTF_8);
        // 1 MB: a bulk INSERT whose literals mention users and roles, so every literal is decoded
        // and classified again (the worst realistic case for the embedded scan).
        StringBuilder b = new StringBuilder(1 << 20);
        b.append("INSERT INTO audit_log(id, actor, message) VALUES ");
        int i = 0;
        while (b.length() < (1 << 20) - 100) {
            b.append('(').append(i++).append(", 'user ").append(i).append("', 'the role of this user changed'), ");
        }
        b.append("(0, 'x', 'y')");
        large = b.toString().getBytes(StandardCharsets.UTF_8);
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public boolean fastPathOltp150Bytes() {
        return Classifier.mayConcernRoles(oltp, 0, oltp.length);
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public Classification classifyAlterRole200Bytes() {
        return Classifier.classify(alterRole, 0, alterRole.length, SETTINGS);
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public Classification classify1MegabyteInsert() {
        return Classifier.classify(large, 0, large.length, SETTINGS);
    }
}
