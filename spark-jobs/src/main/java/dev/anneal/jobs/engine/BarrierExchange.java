package dev.anneal.jobs.engine;

import org.apache.spark.BarrierTaskContext;
import org.apache.spark.TaskKilledException;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@link BarrierTaskContext#allGather} without its one-second steps. Spark 3.5's barrier task waits for the
 * coordinator's answer in {@code Thread.sleep(1000)} and looks again after each second (so that a killed task stops),
 * so an exchange that is not complete the instant it is sent costs a whole second: a round of the local-sgd engine
 * trains for tens of milliseconds. While a task waits here, a shared daemon thread wakes it every {@link
 * #WAKE_MICROS} µs when it sleeps; Spark's loop then finds the answer, or that the task was killed, as it does after
 * its own second. The waking stops before {@link #allGather} returns and any wake-up still pending is cleared, so
 * nothing after the exchange sees an interrupt; a kill that arrived meanwhile is honoured.
 */
final class BarrierExchange {
    static final long WAKE_MICROS = 1000;
    private static final ScheduledExecutorService WAKER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "anneal-barrier-waker");
        t.setDaemon(true);
        return t;
    });

    private BarrierExchange() {
    }

    static String[] allGather(BarrierTaskContext context, String message) {
        Waking waking = new Waking(Thread.currentThread());
        waking.future = WAKER.scheduleWithFixedDelay(waking, WAKE_MICROS, WAKE_MICROS, TimeUnit.MICROSECONDS);
        try {
            return context.allGather(message);
        } finally {
            waking.stop();
            if (context.isInterrupted()) {
                throw new TaskKilledException("killed during a local-sgd exchange");
            }
        }
    }

    private static final class Waking implements Runnable {
        private final Thread task;
        private boolean active = true;
        private ScheduledFuture<?> future;

        Waking(Thread task) {
            this.task = task;
        }

        @Override
        public synchronized void run() {
            // Only while the task sleeps: that is Spark's wait; anything else it does is left alone.
            if (active && task.getState() == Thread.State.TIMED_WAITING) {
                task.interrupt();
            }
        }

        /** Called by the task's own thread: no wake-up comes after this, and none is left pending. */
        synchronized void stop() {
            active = false;
            future.cancel(false);
            Thread.interrupted();
        }
    }
}
