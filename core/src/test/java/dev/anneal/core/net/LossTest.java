package dev.anneal.core.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.impl.LossBinaryXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMSE;

class LossTest {

    @Test
    void pairsEachLossWithItsActivationAndDl4jFunction() {
        assertEquals(Activation.SIGMOID, Loss.BINARY_CROSS_ENTROPY.outputActivation());
        assertEquals(Activation.SOFTMAX, Loss.SOFTMAX_CROSS_ENTROPY.outputActivation());
        assertEquals(Activation.IDENTITY, Loss.MSE.outputActivation());
        assertInstanceOf(LossBinaryXENT.class, Loss.BINARY_CROSS_ENTROPY.lossFunction());
        assertInstanceOf(LossMCXENT.class, Loss.SOFTMAX_CROSS_ENTROPY.lossFunction());
        assertInstanceOf(LossMSE.class, Loss.MSE.lossFunction());
        assertNotSame(Loss.MSE.lossFunction(), Loss.MSE.lossFunction());
    }

    @Test
    void configNamesAreKebabCaseAndRoundTrip() {
        assertEquals("binary-cross-entropy", Loss.BINARY_CROSS_ENTROPY.configName());
        assertEquals("softmax-cross-entropy", Loss.SOFTMAX_CROSS_ENTROPY.configName());
        assertEquals("mse", Loss.MSE.configName());
        for (Loss loss : Loss.values()) {
            assertEquals(loss, Loss.fromConfigName(loss.configName()));
        }
    }

    @Test
    void unknownNameListsTheAllowedOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Loss.fromConfigName("BINARY_CROSS_ENTROPY"));
        assertTrue(e.getMessage().contains("'BINARY_CROSS_ENTROPY'"), e.getMessage());
        assertTrue(e.getMessage().contains("binary-cross-entropy, softmax-cross-entropy, mse"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Loss.fromConfigName(null));
    }
}
