package org.pwgate.proxy.fuzz;

import java.util.Arrays;
import java.util.Random;

/**
 * Mutations of a valid protocol message, the usual fuzzing moves: bit flips, random bytes,
 * insertions, deletions, truncation, and length fields set to the boundary values a parser gets
 * wrong (0, 3, 4, 7, 8, the startup cap and one more, negative, huge).
 */
final class Mutator {
    private static final int[] INTERESTING = {0, 1, 3, 4, 5, 7, 8, 9, 10_000, 10_001, 65_536, -1, Integer.MIN_VALUE,
            Integer.MAX_VALUE, 1 << 30};

    private Mutator() {}

    static byte[] mutate(byte[] valid, Random rnd) {
        byte[] b = valid.clone();
        int rounds = 1 + rnd.nextInt(3);
        for (int r = 0; r < rounds; r++) {
            b = once(b, rnd);
        }
        return b;
    }

    private static byte[] once(byte[] b, Random rnd) {
        if (b.length == 0) {
            return new byte[] {(byte) rnd.nextInt(256)};
        }
        switch (rnd.nextInt(8)) {
            case 0 -> {
                int i = rnd.nextInt(b.length);
                b[i] ^= (byte) (1 << rnd.nextInt(8));
                return b;
            }
            case 1 -> {
                b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                return b;
            }
            case 2 -> {
                int at = rnd.nextInt(b.length + 1);
                byte[] ins = new byte[1 + rnd.nextInt(16)];
                rnd.nextBytes(ins);
                byte[] out = new byte[b.length + ins.length];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(ins, 0, out, at, ins.length);
                System.arraycopy(b, at, out, at + ins.length, b.length - at);
                return out;
            }
            case 3 -> {
                int from = rnd.nextInt(b.length);
                int to = Math.min(b.length, from + 1 + rnd.nextInt(8));
                byte[] out = new byte[b.length - (to - from)];
                System.arraycopy(b, 0, out, 0, from);
                System.arraycopy(b, to, out, from, b.length - to);
                return out;
            }
            case 4 -> {
                return Arrays.copyOf(b, rnd.nextInt(b.length));
            }
            case 5 -> {
                // A length field: at 0 for startup packets, at 1 for tagged messages.
                int at = rnd.nextBoolean() || b.length < 5 ? 0 : 1;
                if (b.length < at + 4) {
                    return b;
                }
                int v = INTERESTING[rnd.nextInt(INTERESTING.length)];
                b[at] = (byte) (v >>> 24);
                b[at + 1] = (byte) (v >>> 16);
                b[at + 2] = (byte) (v >>> 8);
                b[at + 3] = (byte) v;
                return b;
            }
            case 6 -> {
                // Drop a NUL terminator, or add one where it does not belong.
                for (int i = 0; i < b.length; i++) {
                    int j = (i + rnd.nextInt(b.length)) % b.length;
                    if (b[j] == 0) {
                        b[j] = (byte) ('a' + rnd.nextInt(26));
                        return b;
                    }
                }
                b[rnd.nextInt(b.length)] = 0;
                return b;
            }
            default -> {
                // Duplicate a chunk (repeated parameters, a second message glued on).
                int from = rnd.nextInt(b.length);
                int len = Math.min(b.length - from, 1 + rnd.nextInt(12));
                byte[] out = Arrays.copyOf(b, b.length + len);
                System.arraycopy(b, from, out, b.length, len);
                return out;
            }
        }
    }
}
