#!/usr/bin/python3
"""PyTorch (CPU) counterparts of scripts/bench's models, trained the way TrainingBenchmark / LanguageModelThroughput
train them: Adam 1e-3, the same layers, batch and thread count; prints one `RESULT {json}` line in their format.

  bench-torch.py mlp|cnn FASHION_MNIST_DIR EPOCHS SAMPLES TARGET THREADS
  bench-torch.py lstm-lm VOCAB WINDOWS RUNS THREADS     (throughput only: random token ids, 65-token windows)
  bench-torch.py sgemm SECONDS THREADS                  (float32 torch.mm into an existing tensor, SgemmPeak's shapes)

Initialisation is PyTorch's default for each layer (the comparison is of speed; accuracy is reported, not matched).
"""
import gzip
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    dims = magic & 0xFF
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


# Untimed passes on a copy before the timed ones, each with its evaluation. PyTorch has no JIT: its passes run at the
# same speed from the second on (30 passes of the MLP, 1 and 2 threads); TrainingBenchmark warms up until the JVM's JIT
# is quiet, which takes it 20-30 passes. Three make sure the allocator and OpenBLAS's buffers are warm.
WARM_UP_PASSES = 3


def model(name):
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                             nn.Linear(256, 10))
    # conv 5x5x32 valid, max pool 2, conv 5x5x64 valid, max pool 2, dense 256, softmax head: as CnnSpec builds it
    return nn.Sequential(nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 4 * 4, 256), nn.ReLU(), nn.Linear(256, 10))


def image_benchmark(name, data, epochs, samples, target, threads):
    x = torch.from_numpy(idx(f"{data}/train-images-idx3-ubyte.gz")[:samples].astype(np.float32) / 255).unsqueeze(1)
    y = torch.from_numpy(idx(f"{data}/train-labels-idx1-ubyte.gz")[:samples].astype(np.int64))
    tx = torch.from_numpy(idx(f"{data}/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255).unsqueeze(1)
    ty = torch.from_numpy(idx(f"{data}/t10k-labels-idx1-ubyte.gz").astype(np.int64))
    torch.manual_seed(42)
    net = model(name)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    batches = [(x[i:i + 128], y[i:i + 128]) for i in range(0, len(x), 128)]

    def train_pass(network, optimizer):
        network.train()
        for bx, by in batches:
            optimizer.zero_grad(set_to_none=True)
            loss_fn(network(bx), by).backward()
            optimizer.step()

    def test_accuracy(network):
        network.eval()
        with torch.no_grad():
            return sum(int((network(tx[i:i + 1000]).argmax(1) == ty[i:i + 1000]).sum())
                       for i in range(0, len(tx), 1000)) / len(tx)

    # Untimed passes and evaluations on a copy first (WARM_UP_PASSES), as TrainingBenchmark warms up the JVM's.
    w0 = time.perf_counter()
    warm = model(name)
    warm_opt = torch.optim.Adam(warm.parameters(), lr=1e-3)
    first_pass_seconds = None
    for _ in range(WARM_UP_PASSES):
        train_pass(warm, warm_opt)
        test_accuracy(warm)
        first_pass_seconds = first_pass_seconds or time.perf_counter() - w0
    warm_up_seconds = time.perf_counter() - w0
    rates, accuracies, train_seconds, to_target = [], [], 0.0, None
    for _ in range(epochs):
        t0 = time.perf_counter()
        train_pass(net, opt)
        s = time.perf_counter() - t0
        train_seconds += s
        rates.append(len(x) / s)
        accuracies.append(test_accuracy(net))
        if to_target is None and accuracies[-1] >= target:
            to_target = train_seconds
        print(f"epoch {len(rates)}: {rates[-1]:.0f} samples/s, test accuracy {accuracies[-1]:.4f}", file=sys.stderr)
    return dict(model=name, mode="pytorch", threads=str(threads), master="none", workers=1, epochs=epochs,
                samples=len(x), parameters=sum(p.numel() for p in net.parameters()), samplesPerSecond=rates,
                testAccuracy=accuracies, target=target, secondsToTarget=to_target, trainSeconds=train_seconds,
                warmUpSeconds=warm_up_seconds, warmUpPasses=WARM_UP_PASSES, firstPassSeconds=first_pass_seconds,
                bytesPerIteration=[])


class LanguageModel(nn.Module):
    """LstmLanguageModelSpec(vocab, 32, 128, 1): embedding 32 (no bias), LSTM 128, softmax over the vocabulary."""

    def __init__(self, vocab):
        super().__init__()
        self.embedding = nn.Embedding(vocab, 32)
        self.lstm = nn.LSTM(32, 128, batch_first=True)
        self.head = nn.Linear(128, vocab)

    def forward(self, ids):
        out, _ = self.lstm(self.embedding(ids))
        return self.head(out)


def lm_benchmark(vocab, windows, runs, threads):
    torch.manual_seed(42)
    ids = torch.randint(0, vocab, (windows // 32, 32, 65))
    net = LanguageModel(vocab)
    opt = torch.optim.Adam(net.parameters(), lr=0.005)
    loss_fn = nn.CrossEntropyLoss()
    rates = []
    for r in range(runs + 1):  # the first pass warms up and is not counted, as in LanguageModelThroughput
        t0 = time.perf_counter()
        for batch in ids:
            opt.zero_grad(set_to_none=True)
            logits = net(batch[:, :-1])
            loss_fn(logits.reshape(-1, vocab), batch[:, 1:].reshape(-1)).backward()
            opt.step()
        if r > 0:
            rates.append(ids.shape[0] * 32 / (time.perf_counter() - t0))
    return dict(model="lstm-lm", mode="pytorch", threads=str(threads), workers=1, vocab=vocab,
                windows=ids.shape[0] * 32, parameters=sum(p.numel() for p in net.parameters()),
                windowsPerSecond=rates)


def sgemm(seconds, threads):
    shapes, peak = [], 0.0
    for m, k, n in ((1024, 1024, 1024), (128, 784, 512), (128, 512, 256)):
        a, b, c = torch.rand(m, k), torch.rand(k, n), torch.empty(m, n)
        flops = 2.0 * m * n * k
        reps = max(1, int(np.ceil(2e-2 * 50e9 / flops)))
        for _ in range(reps):
            torch.mm(a, b, out=c)
        best, end = 0.0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            for _ in range(reps):
                torch.mm(a, b, out=c)
            best = max(best, reps * flops / (time.perf_counter() - t0) / 1e9)
        shapes.append(dict(m=m, k=k, n=n, gflops=best))
        peak = max(peak, best)
    return dict(mode="sgemm-torch", threads=str(threads), peakGflops=peak, shapes=shapes)


def main(argv):
    if argv[0] == "sgemm":
        torch.set_num_threads(int(argv[2]))
        result = sgemm(float(argv[1]), int(argv[2]))
    elif argv[0] == "lstm-lm":
        vocab, windows, runs, threads = map(int, argv[1:5])
        torch.set_num_threads(threads)
        result = lm_benchmark(vocab, windows, runs, threads)
    else:
        name, data, epochs, samples, target, threads = argv[0], argv[1], int(argv[2]), int(argv[3]), float(argv[4]), int(argv[5])
        torch.set_num_threads(threads)
        result = image_benchmark(name, data, epochs, samples, target, threads)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
