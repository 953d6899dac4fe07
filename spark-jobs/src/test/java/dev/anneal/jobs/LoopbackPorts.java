package dev.anneal.jobs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.List;

/** Free ports on 127.0.0.1 for the test clusters' daemons and transports. */
public final class LoopbackPorts {
    private static final String HOST = "127.0.0.1";

    private LoopbackPorts() {
    }

    /** A free TCP port on 127.0.0.1 (free when asked; the usual small race with other processes remains). */
    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A base UDP port on 127.0.0.1 such that it and the next {@code count - 1} ports are free. */
    public static int freeUdpPorts(int count) {
        for (int attempt = 0; attempt < 100; attempt++) {
            List<DatagramSocket> held = new ArrayList<>();
            try {
                DatagramSocket first = new DatagramSocket(0, InetAddress.getByName(HOST));
                held.add(first);
                int base = first.getLocalPort();
                if (base + count > 65535) {
                    continue;
                }
                boolean free = true;
                for (int i = 1; i < count && free; i++) {
                    try {
                        held.add(new DatagramSocket(base + i, InetAddress.getByName(HOST)));
                    } catch (SocketException e) {
                        free = false;
                    }
                }
                if (free) {
                    return base;
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                held.forEach(DatagramSocket::close);
            }
        }
        throw new IllegalStateException("no " + count + " consecutive free UDP ports found");
    }
}
