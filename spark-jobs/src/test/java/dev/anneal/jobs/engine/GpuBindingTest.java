package dev.anneal.jobs.engine;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** From the GPU address Spark gives a task to the device number ND4J uses. */
class GpuBindingTest {

    @Test
    void anAddressIsTheDeviceIndexWhenEveryGpuIsVisible() {
        assertEquals(3, GpuBinding.ordinal("3", null, 8));
        assertEquals(0, GpuBinding.ordinal("0", "", 1));
    }

    @Test
    void underCudaVisibleDevicesTheAddressIsLookedUpInTheList() {
        assertEquals(1, GpuBinding.ordinal("5", "3,5", 2), "ND4J numbers the visible devices from 0");
        assertEquals(0, GpuBinding.ordinal("GPU-1a2b", "GPU-1a2b", 1), "UUIDs work when both sides use them");
    }

    @Test
    void addressesThatCannotBeBoundAreClearErrors() {
        IllegalStateException notVisible = assertThrows(IllegalStateException.class,
                () -> GpuBinding.ordinal("2", "3,5", 2));
        assertTrue(notVisible.getMessage().contains("CUDA_VISIBLE_DEVICES=3,5"), notVisible.getMessage());
        IllegalStateException tooHigh = assertThrows(IllegalStateException.class,
                () -> GpuBinding.ordinal("4", null, 2));
        assertTrue(tooHigh.getMessage().contains("ND4J sees 2 device(s)"), tooHigh.getMessage());
        assertThrows(IllegalStateException.class, () -> GpuBinding.ordinal("GPU-1a2b", null, 2));
    }
}
