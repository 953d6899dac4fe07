package dev.anneal.jobs.bench;

import dev.anneal.core.net.CnnSpec;
import dev.anneal.core.net.Loss;
import dev.anneal.core.net.LstmLanguageModelSpec;
import dev.anneal.core.net.MlpSpec;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ModelFlopsTest {
    @Test
    void mlpCountsEachDenseProduct() {
        MlpSpec mlp = new MlpSpec(784, List.of(512, 256), 10, Loss.SOFTMAX_CROSS_ENTROPY);
        double forward = 2.0 * (784 * 512 + 512 * 256 + 256 * 10);
        assertEquals(forward, ModelFlops.forward(mlp, 1));
        assertEquals(3 * forward, ModelFlops.training(mlp, 1));
    }

    @Test
    void cnnFollowsValidConvolutionsAndPooling() {
        CnnSpec cnn = new CnnSpec(28, 28, 1, List.of(32, 64), 5, 256, 10, Loss.SOFTMAX_CROSS_ENTROPY);
        // 28 -conv5-> 24 -pool-> 12 -conv5-> 8 -pool-> 4
        double forward = 2.0 * 25 * 1 * 32 * 24 * 24 + 2.0 * 25 * 32 * 64 * 8 * 8 + 2.0 * 64 * 4 * 4 * 256
                + 2.0 * 256 * 10;
        assertEquals(forward, ModelFlops.forward(cnn, 1));
    }

    @Test
    void languageModelScalesWithSteps() {
        LstmLanguageModelSpec lm = new LstmLanguageModelSpec(89, 32, 128, 2);
        double perStep = 2.0 * 4 * 128 * (32 + 128) + 2.0 * 4 * 128 * (128 + 128) + 2.0 * 128 * 89;
        assertEquals(64 * perStep, ModelFlops.forward(lm, 64));
    }

    @Test
    void utilisationIsRateTimesWorkOverPeak() {
        assertEquals(0.5, ModelFlops.utilisation(25_000, 4e6, 200), 1e-12);
    }
}
