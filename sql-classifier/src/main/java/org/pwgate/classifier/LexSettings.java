package org.pwgate.classifier;

/**
 * The session state that changes how PostgreSQL lexes SQL, as the backend reported it in
 * ParameterStatus. {@code clientEncoding} is PostgreSQL's name (UTF8, SQL_ASCII, LATIN1, SJIS, …);
 * {@code serverMajor} is e.g. 17 (16+ accepts \v as whitespace and the new GRANT option syntax).
 */
public record LexSettings(boolean standardConformingStrings, String clientEncoding, int serverMajor) {
    public static final LexSettings DEFAULT = new LexSettings(true, "UTF8", 17);
}
