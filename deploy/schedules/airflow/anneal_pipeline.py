"""Airflow DAG: one `anneal pipeline` run a day, on the slice of raw text that day brought.

The run id is the logical date ({{ ds }}): a retry, a manual rerun or a backfill of the same date resumes that run
where it stopped, or does nothing when it is complete (docs/PIPELINE.md). max_active_runs=1 keeps Airflow from
starting two runs on one pipeline directory; pipeline.lock refuses the second one anyway (exit code 1, retried).

Needs apache-airflow-providers-apache-spark and a Spark connection (conn_id) whose master is the cluster's; the job
jar and configs where the driver can read them (the image of deploy/docker, or a shared path).
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

ANNEAL_JAR = "/opt/anneal/lib/anneal-jobs.jar"
ANNEAL_MAIN_CLASS = "dev.anneal.jobs.Main"
# The parent pom's anneal.jvm.options (spark-jobs/target/classes/anneal-jvm-options.txt); a test checks they agree.
JVM_OPTIONS = "-XX:+IgnoreUnrecognizedVMOptions --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false -Dio.netty.tryReflectionSetAccessible=true -Daeron.publication.unblock.timeout=60000000000"
PIPELINE_ROOT = "hdfs:///anneal/pipeline"
RAW_SLICES = "hdfs:///anneal/raw"

with DAG(
    dag_id="anneal_pipeline",
    schedule="@daily",
    start_date=datetime(2026, 11, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 3, "retry_delay": timedelta(minutes=20)},
    tags=["anneal"],
) as dag:
    SparkSubmitOperator(
        task_id="pipeline",
        conn_id="spark_default",
        application=ANNEAL_JAR,
        java_class=ANNEAL_MAIN_CLASS,
        name="anneal-pipeline-{{ ds }}",
        deploy_mode="client",
        application_args=[
            "pipeline",
            "--config", "/opt/anneal/conf/pipeline.yaml",
            "--set", "runId={{ ds }}",
            "--input", RAW_SLICES + "/{{ ds }}",
            "--output", PIPELINE_ROOT,
        ],
        conf={
            "spark.driver.extraJavaOptions": JVM_OPTIONS,
            "spark.executor.extraJavaOptions": JVM_OPTIONS,
        },
        execution_timeout=timedelta(hours=12),
    )
