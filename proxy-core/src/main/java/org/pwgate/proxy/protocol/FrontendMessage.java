package org.pwgate.proxy.protocol;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Frontend messages pwgate inspects or sends itself (its service connection). Everything else a
 * client sends travels as an opaque {@link Frame}. toString never shows SQL text or passwords:
 * either may hold a secret.
 */
public sealed interface FrontendMessage {

    record PasswordMessage(String password) implements FrontendMessage {
        @Override
        public String toString() {
            return "PasswordMessage[***]";
        }
    }

    record Query(String sql) implements FrontendMessage {
        @Override
        public String toString() {
            return "Query[" + sql.length() + " chars]";
        }
    }

    record Parse(String name, String sql, int[] parameterTypes) implements FrontendMessage {
        public Parse {
            parameterTypes = parameterTypes.clone();
        }

        @Override
        public int[] parameterTypes() {
            return parameterTypes.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Parse p && p.name.equals(name) && p.sql.equals(sql) && Arrays.equals(p.parameterTypes, parameterTypes);
        }

        @Override
        public int hashCode() {
            return name.hashCode() * 31 + sql.hashCode();
        }

        @Override
        public String toString() {
            return "Parse[" + name + ", " + sql.length() + " chars]";
        }
    }

    /** A Bind with parameters in text format (empty = NULL) and every result column in text format. */
    record Bind(String portal, String statement, List<Optional<String>> parameters) implements FrontendMessage {
        public Bind {
            parameters = List.copyOf(parameters);
        }

        @Override
        public String toString() {
            return "Bind[" + portal + ", " + statement + ", " + parameters.size() + " params]";
        }
    }

    record Execute(String portal, int maxRows) implements FrontendMessage {}

    record Sync() implements FrontendMessage {}

    record Terminate() implements FrontendMessage {}
}
