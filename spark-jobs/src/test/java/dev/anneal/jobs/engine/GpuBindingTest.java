package dev.anneal.jobs.engine;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** From the GPU address Spark gives a task to the device number ND4J uses. */
class GpuBindingTest {

    @Test
    void anAddressIsTheCudaDeviceNumber() {
        assertEquals(3, GpuBinding.ordinal("3", 8));
        assertEquals(0, GpuBinding.ordinal(" 0 ", 1));
    }

    @Test
    void addressesThatCannotBeBoundAreClearErrors() {
        IllegalStateException tooHigh = assertThrows(IllegalStateException.class, () -> GpuBinding.ordinal("4", 2));
        assertTrue(tooHigh.getMessage().contains("ND4J sees 2 device(s)"), tooHigh.getMessage());
        IllegalStateException uuid = assertThrows(IllegalStateException.class,
                () -> GpuBinding.ordinal("GPU-1a2b", 2));
        assertTrue(uuid.getMessage().contains("discover-gpus.sh"), uuid.getMessage());
        assertThrows(IllegalStateException.class, () -> GpuBinding.ordinal("-1", 2));
    }
}
