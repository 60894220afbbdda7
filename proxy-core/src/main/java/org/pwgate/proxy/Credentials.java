package org.pwgate.proxy;

import java.io.IOException;
import java.nio.file.Path;
import org.pwgate.auth.CredentialSource;

/** Chooses the auth module's credential source implementations. */
final class Credentials {
    private Credentials() {}

    static CredentialSource authFile(Path file) throws IOException {
        return new org.pwgate.auth.AuthFileSource(file);
    }
}
