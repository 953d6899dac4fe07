package dev.anneal.jobs;

import org.apache.spark.Success$;
import org.apache.spark.TaskEndReason;
import org.apache.spark.TaskFailedReason;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Says in the job's log, in one line each, when a task fails and when an executor is lost while a job trains: Spark
 * retries such tasks (up to {@code spark.task.maxFailures} attempts) and the run goes on, so without this line a
 * user would see nothing but a slower epoch.
 */
final class TaskRetries extends SparkListener {
    private static final Logger LOG = LoggerFactory.getLogger(TaskRetries.class);
    private final AtomicInteger failedTasks = new AtomicInteger();
    private final AtomicInteger lostExecutors = new AtomicInteger();

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
        TaskEndReason reason = end.reason();
        if (reason == Success$.MODULE$ || !(reason instanceof TaskFailedReason failed)) {
            return;
        }
        failedTasks.incrementAndGet();
        String why = failed.toErrorString().lines().findFirst().orElse("");
        LOG.warn("task {} of stage {} (partition {}, attempt {}) failed on executor {}: {}; Spark runs it again "
                        + "unless it has failed spark.task.maxFailures times", end.taskInfo().taskId(), end.stageId(),
                end.taskInfo().partitionId(), end.taskInfo().attemptNumber(), end.taskInfo().executorId(), why);
    }

    @Override
    public void onExecutorRemoved(SparkListenerExecutorRemoved removed) {
        lostExecutors.incrementAndGet();
        LOG.warn("executor {} removed: {}; its tasks run elsewhere", removed.executorId(), removed.reason());
    }

    int failedTasks() {
        return failedTasks.get();
    }

    int lostExecutors() {
        return lostExecutors.get();
    }
}
