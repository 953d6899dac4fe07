package dev.anneal.jobs;

/**
 * The scoring tests' independent definitions of what {@code anneal evaluate} computes, written from the
 * definitions rather than from the job's code, so that a figure of the job is checked against another computation.
 */
final class MetricDefinitions {
    private MetricDefinitions() {
    }

    /** ROC AUC as P(score of a positive > score of a negative) + P(equal) / 2, over every pair. */
    static double pairwiseAuc(double[] score, int[] positive) {
        double wins = 0;
        long pairs = 0;
        for (int i = 0; i < score.length; i++) {
            for (int j = 0; j < score.length; j++) {
                if (positive[i] == 1 && positive[j] == 0) {
                    pairs++;
                    wins += score[i] > score[j] ? 1 : score[i] == score[j] ? 0.5 : 0;
                }
            }
        }
        return wins / pairs;
    }

    /** A JSON number of a metrics file as a double. */
    static double num(Object o) {
        return ((Number) o).doubleValue();
    }
}
