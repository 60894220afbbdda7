package org.pwgate.classifier;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One line of the corpus (format: src/test/resources/corpus/README.md). */
record CorpusCase(String file, int line, String source, byte[] sql, Map<String, String> expect) {
    static final List<String> FILES = List.of("01-password.corpus", "02-membership.corpus", "03-role-other.corpus",
            "04-lexer.corpus", "05-embedded.corpus", "06-encodings.corpus");

    static List<CorpusCase> load() throws IOException {
        List<CorpusCase> all = new ArrayList<>();
        for (String f : FILES) {
            try (InputStream in = CorpusCase.class.getResourceAsStream("/corpus/" + f)) {
                if (in == null) {
                    throw new IOException("missing corpus file " + f);
                }
                String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                String[] lines = text.split("\n", -1);
                for (int i = 0; i < lines.length; i++) {
                    String l = lines[i];
                    if (l.isBlank() || l.startsWith("#")) {
                        continue;
                    }
                    int tab = l.indexOf('\t');
                    if (tab < 0) {
                        throw new IOException(f + ":" + (i + 1) + ": no tab");
                    }
                    Map<String, String> e = new LinkedHashMap<>();
                    for (String item : l.substring(0, tab).trim().split(" +")) {
                        int eq = item.indexOf('=');
                        e.put(eq < 0 ? item : item.substring(0, eq), eq < 0 ? "" : item.substring(eq + 1));
                    }
                    String sql = l.substring(tab + 1);
                    all.add(new CorpusCase(f, i + 1, sql, decode(sql), e));
                }
            }
        }
        return all;
    }

    static byte[] decode(String s) {
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
                default -> {
                    if (!tag.startsWith("x") || tag.length() != 3) {
                        throw new IllegalArgumentException("bad escape {{" + tag + "}}");
                    }
                    out.write(Integer.parseInt(tag.substring(1), 16));
                }
            }
            i = close + 2;
        }
        return out.toByteArray();
    }

    LexSettings settings() {
        return new LexSettings(!"off".equals(expect.get("sc")), expect.getOrDefault("enc", "UTF8"),
                Integer.parseInt(expect.getOrDefault("major", "17")));
    }

    String where() {
        return file + ":" + line;
    }
}
