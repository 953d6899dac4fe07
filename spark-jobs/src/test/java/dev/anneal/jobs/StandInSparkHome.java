package dev.anneal.jobs;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The Spark distribution a test cluster runs: {@code jars/} linking the jars the build lists for Spark 3.5,
 * {@code bin/spark-submit} from the test resources, and an empty {@code conf/}.
 */
final class StandInSparkHome {
    private StandInSparkHome() {
    }

    static void build(Path sparkHome, List<Path> sparkJars) throws IOException {
        Path jars = Files.createDirectories(sparkHome.resolve("jars"));
        Files.createDirectories(sparkHome.resolve("conf"));
        Path bin = Files.createDirectories(sparkHome.resolve("bin"));
        Set<String> names = new LinkedHashSet<>();
        for (Path jar : sparkJars != null ? sparkJars : buildClasspath()) {
            if (!Files.isRegularFile(jar)) {
                throw new IOException("Spark jar not found: " + jar);
            }
            if (names.add(jar.getFileName().toString())) {
                Files.createSymbolicLink(jars.resolve(jar.getFileName()), jar);
            }
        }
        Path submit = bin.resolve("spark-submit");
        try (InputStream in = StandInSparkHome.class.getResourceAsStream("/standalone-cluster/spark-submit")) {
            if (in == null) {
                throw new IOException("test resource standalone-cluster/spark-submit is missing");
            }
            Files.copy(in, submit);
        }
        Files.setPosixFilePermissions(submit, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    /** The jars a Spark 3.5 distribution holds, as the build lists them (see spark-jobs/pom.xml). */
    private static List<Path> buildClasspath() throws IOException {
        Path target = Path.of("target").toAbsolutePath();
        List<Path> jars = new ArrayList<>();
        for (String file : List.of("provided-classpath.txt", "spark-shared-classpath.txt")) {
            Path list = target.resolve(file);
            if (!Files.isRegularFile(list)) {
                throw new IOException(list + " is missing: it is written in the package phase (mvn verify)");
            }
            Arrays.stream(Files.readString(list).strip().split(java.io.File.pathSeparator))
                    .filter(s -> !s.isBlank()).map(Path::of).forEach(jars::add);
        }
        return jars;
    }
}
