package dev.anneal.jobs.engine;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.TrainingMaster;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.graph.dataset.DataSetToMultiDataSetFn;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/** What the engines over DL4J's Spark training masters share: the wrapped graph and one pass over an RDD. */
abstract class Dl4jSparkEngine implements TrainingEngine {
    protected final SparkComputationGraph spark;

    Dl4jSparkEngine(JavaSparkContext sc, ComputationGraph network, TrainingMaster<?, ?> master) {
        this.spark = new SparkComputationGraph(sc, network, master);
    }

    @Override
    public ComputationGraph fitEpoch(JavaRDD<DataSet> minibatches) {
        // DL4J persists the RDD it trains on (its rounds would otherwise recompute the minibatches each time) and
        // never releases it; converting here keeps that RDD ours, so it is released after the pass.
        JavaRDD<MultiDataSet> converted = minibatches.map(new DataSetToMultiDataSetFn());
        try {
            return spark.fitMultiDataSet(converted);
        } finally {
            converted.unpersist(false);
        }
    }

    @Override
    public ComputationGraph network() {
        return spark.getNetwork();
    }

    @Override
    public void close() {
        spark.getTrainingMaster().deleteTempFiles(spark.getSparkContext());
    }
}
