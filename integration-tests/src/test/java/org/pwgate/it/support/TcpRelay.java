package org.pwgate.it.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * A TCP relay on 127.0.0.1 between pwgate and a backend, for faults a real PostgreSQL will not
 * produce on demand: accepting connections but relaying only after a delay (or never), and
 * keeping a fixed port while the PostgreSQL behind it restarts on another one. {@link #unbind()}
 * closes the listening socket and cuts every relayed connection, so that connects are refused as
 * they are while PostgreSQL is down; {@link #rebind()} brings it back on the same port.
 * {@link #openings()} tells what each relayed connection began with, for checks that a
 * connection was encrypted. Loopback only; its threads are daemons and end with their sockets.
 */
public final class TcpRelay implements AutoCloseable {
    private final int port;
    private final Supplier<InetSocketAddress> target;
    private final long relayDelayMs;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final List<Integer> openings = new CopyOnWriteArrayList<>();
    private volatile ServerSocket server;

    /**
     * Listens at once on {@code port} (0: any free port). {@code relayDelayMs}: how long an
     * accepted connection waits before relaying; negative: never.
     */
    public TcpRelay(int port, Supplier<InetSocketAddress> target, long relayDelayMs) throws IOException {
        this.target = target;
        this.relayDelayMs = relayDelayMs;
        this.server = bind(port);
        this.port = server.getLocalPort();
        startAccepting(server);
    }

    public int port() {
        return port;
    }

    /**
     * The request code (the second 32-bit word) of the first packet of each relayed connection,
     * in the order they completed it: 80877103 for an SSLRequest, 80877102 for a CancelRequest,
     * 196608 for a protocol 3.0 StartupMessage.
     */
    public List<Integer> openings() {
        return List.copyOf(openings);
    }

    private static ServerSocket bind(int port) throws IOException {
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 200);
        return s;
    }

    private void startAccepting(ServerSocket s) {
        Thread t = new Thread(() -> {
            while (!s.isClosed()) {
                try {
                    Socket client = s.accept();
                    sockets.add(client);
                    Thread relay = new Thread(() -> relay(client), "relay-conn");
                    relay.setDaemon(true);
                    relay.start();
                } catch (IOException e) {
                    return;
                }
            }
        }, "relay-accept");
        t.setDaemon(true);
        t.start();
    }

    private void relay(Socket client) {
        try {
            if (relayDelayMs < 0) {
                return; // hold it open, say nothing, until close()
            }
            Thread.sleep(relayDelayMs);
            Socket upstream = new Socket();
            sockets.add(upstream);
            upstream.connect(target.get(), 2000);
            pump(client, upstream, true);
            pump(upstream, client, false);
        } catch (IOException | InterruptedException e) {
            closeQuietly(client);
        }
    }

    private void pump(Socket from, Socket to, boolean recordOpening) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16 * 1024];
            byte[] head = new byte[8];
            int headBytes = recordOpening ? 0 : head.length;
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (headBytes < head.length) {
                        int take = Math.min(n, head.length - headBytes);
                        System.arraycopy(buf, 0, head, headBytes, take);
                        headBytes += take;
                        if (headBytes == head.length) {
                            openings.add(ByteBuffer.wrap(head, 4, 4).getInt());
                        }
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException ignored) {
                // one side went away
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "relay-pump");
        t.setDaemon(true);
        t.start();
    }

    /** Stops listening (connects are refused) and cuts every relayed connection. */
    public void unbind() {
        closeQuietly(server);
        sockets.forEach(TcpRelay::closeQuietly);
        sockets.clear();
    }

    /** Listens again on the same port. */
    public void rebind() throws IOException {
        server = bind(port);
        startAccepting(server);
    }

    @Override
    public void close() {
        unbind();
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
