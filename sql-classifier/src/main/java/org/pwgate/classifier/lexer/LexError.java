package org.pwgate.classifier.lexer;

/** Lexical errors PostgreSQL raises too: the server rejects the whole query string. */
public enum LexError {
    UNTERMINATED_COMMENT,
    UNTERMINATED_STRING,
    UNTERMINATED_DOLLAR_QUOTE,
    UNTERMINATED_IDENTIFIER,
    ZERO_LENGTH_IDENTIFIER,
    /** U&'…' while standard_conforming_strings is off. */
    UNSAFE_UNICODE_STRING,
    INVALID_UESCAPE,
    INVALID_UNICODE_ESCAPE,
    /** Not a PostgreSQL error: the client encoding is unknown or the bytes are not valid in it. */
    ENCODING
}
