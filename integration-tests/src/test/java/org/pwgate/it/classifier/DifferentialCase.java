package org.pwgate.it.classifier;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.pwgate.classifier.LexSettings;

/**
 * A case of the classifier corpus (sql-classifier/src/test/resources/corpus, format in its
 * README.md), read from the source tree so both modules test the very same file.
 */
record DifferentialCase(String where, String source, byte[] sql, Map<String, String> expect) {

    static Path corpusDirectory() {
        Path base = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
        for (Path p : new Path[] {base.resolve("../sql-classifier/src/test/resources/corpus"),
                base.resolve("sql-classifier/src/test/resources/corpus")}) {
            if (Files.isDirectory(p)) {
                return p.normalize();
            }
        }
        throw new IllegalStateException("classifier corpus not found from " + base.toAbsolutePath());
    }

    static List<DifferentialCase> load() throws IOException {
        List<DifferentialCase> all = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> s = Files.list(corpusDirectory())) {
            files = s.filter(p -> p.toString().endsWith(".corpus")).sorted().toList();
        }
        for (Path f : files) {
            List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
            for (int i = 0; i < lines.size(); i++) {
                String l = lines.get(i);
                if (l.isBlank() || l.startsWith("#")) {
                    continue;
                }
                int tab = l.indexOf('\t');
                Map<String, String> e = new LinkedHashMap<>();
                for (String item : l.substring(0, tab).trim().split(" +")) {
                    int eq = item.indexOf('=');
                    e.put(eq < 0 ? item : item.substring(0, eq), eq < 0 ? "" : item.substring(eq + 1));
                }
                String sql = l.substring(tab + 1);
                all.add(new DifferentialCase(f.getFileName() + ":" + (i + 1), sql, decode(sql), e));
            }
        }
        return all;
    }

    private static byte[] decode(String s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        while (i < s.length()) {
            int open = s.indexOf("{{", i);
            if (open < 0) {
                out.writeBytes(s.substring(i).getBytes(StandardCharsets.UTF_8));
                break;
            }
            out.writeBytes(s.substring(i, open).getBytes(StandardCharsets.UTF_8));
            int close = s.indexOf("}}", open);
            String tag = s.substring(open + 2, close);
            switch (tag) {
                case "nl" -> out.write('\n');
                case "cr" -> out.write('\r');
                case "tab" -> out.write('\t');
                case "ff" -> out.write('\f');
                case "vt" -> out.write(0x0b);
                default -> out.write(Integer.parseInt(tag.substring(1), 16));
            }
            i = close + 2;
        }
        return out.toByteArray();
    }

    boolean skipped() {
        return "skip".equals(expect.get("pg"));
    }

    boolean samePasswordAllowed() {
        return "samepw".equals(expect.get("pg"));
    }

    boolean standardConformingStrings() {
        return !"off".equals(expect.get("sc"));
    }

    String encoding() {
        return expect.getOrDefault("enc", "UTF8");
    }

    LexSettings settings(int serverMajor) {
        return new LexSettings(standardConformingStrings(), encoding(), serverMajor);
    }
}
