/**
 * TLS on both sides of pwgate.
 *
 * <pre>
 *   client --TCP--> [TlsNegotiationHandler] -> frames -> startup -> relay --TCP--> [BackendTls] PostgreSQL
 *                         |
 *     0x16 first byte ----+--> SslHandler + ALPN "postgresql" check   (PostgreSQL 17 direct TLS)
 *     SSLRequest ---------+--> 'S', SslHandler                       ('N' with tls.mode disable)
 *     GSSENCRequest ------+--> 'N', look again
 *     StartupMessage -----+--> passed on; with tls.mode require: FATAL 28000, close
 *     CancelRequest ------+--> passed on
 * </pre>
 *
 * <ul>
 *   <li>{@link org.pwgate.proxy.tls.TlsProvider}: OpenSSL (BoringSSL through netty-tcnative) when it
 *       loads, the JDK otherwise; TLS 1.2/1.3, ECDHE + AEAD only.</li>
 *   <li>{@link org.pwgate.proxy.tls.ServerTls}: the client-facing context from the {@code tls} PEM
 *       files, validated at startup (errors name the file), swapped atomically on file change or
 *       SIGHUP; a broken file keeps the old context. Sessions keep the engine they started with.
 *       Also the {@code verify: full} check (certificate CN = user), called by the startup
 *       handler once it knows the user.</li>
 *   <li>{@link org.pwgate.proxy.tls.TlsNegotiationHandler}: the first handler of every client
 *       pipeline; it decides plaintext or TLS from the first bytes and removes itself.</li>
 *   <li>{@link org.pwgate.proxy.tls.BackendTls}: libpq's {@code sslmode} semantics for
 *       {@code backend.tls}; {@code negotiate(channel, port)} runs the SSLRequest exchange before
 *       the backend StartupMessage is written.</li>
 * </ul>
 *
 * Keys and certificates are read from the configured files only; no message or log line carries
 * key material.
 */
package org.pwgate.proxy.tls;
