#!/usr/bin/env python3
"""fatbin-archs.py: which GPU architectures a CUDA shared library carries code for.

Usage: fatbin-archs.py LIB.so [JAR-ENTRY-OR-SO ...]
       fatbin-archs.py some.jar path/inside/the/jar/libfoo.so

Reads the library's .nv_fatbin ELF section and walks its fat binaries, counting the entries by kind and target:
SASS (machine code, a cubin, runs on GPUs of the same major compute capability and an equal or higher minor one) and
PTX (which the driver can compile for newer GPUs). Used for docs/GPU.md on ND4J's libnd4jcuda.so, to see which GPUs
a given nd4j-cuda build can run on without trying it on each.

The fat binary layout (a 16-byte header: magic 0xBA55ED50, version, header size, size of the entries; then entries,
each with a header giving kind (1 PTX, 2 SASS), header size, payload size and target sm) is not documented by NVIDIA;
it is what cuobjdump reads. Needs only the Python standard library.
"""
import collections
import struct
import sys
import zipfile

FATBIN_MAGIC = 0xBA55ED50


def read_library(args):
    if args[0].endswith(".jar"):
        with zipfile.ZipFile(args[0]) as jar:
            return jar.read(args[1])
    with open(args[0], "rb") as f:
        return f.read()


def section(elf, wanted):
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        sys.exit("not a 64-bit ELF file")
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    headers = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    names_offset = headers[shstrndx][4]
    for name, _, _, _, offset, size, *_ in headers:
        end = elf.index(b"\0", names_offset + name)
        if elf[names_offset + name:end].decode() == wanted:
            return elf[offset:offset + size]
    sys.exit("no %s section: not a CUDA library, or its device code is elsewhere" % wanted)


def main(args):
    if not args:
        sys.exit(__doc__)
    fatbins = section(read_library(args), ".nv_fatbin")
    tally = collections.Counter()
    blobs = 0
    pos = 0
    while pos + 16 <= len(fatbins):
        magic, _, header_size, body_size = struct.unpack_from("<IHHQ", fatbins, pos)
        if magic != FATBIN_MAGIC:
            pos += 8  # fat binaries are 8-byte aligned; skip padding
            continue
        blobs += 1
        entry, end = pos + header_size, pos + header_size + body_size
        while entry + 32 <= end:
            kind, _, entry_header_size, payload_size = struct.unpack_from("<HHIQ", fatbins, entry)
            sm, = struct.unpack_from("<I", fatbins, entry + 28)
            tally[({1: "PTX", 2: "SASS"}.get(kind, "kind %d" % kind), sm)] += 1
            entry += entry_header_size + payload_size
        pos = end
    print("%d fat binaries" % blobs)
    for (kind, sm), count in sorted(tally.items(), key=lambda item: (item[0][1], item[0][0])):
        print("  %-4s sm_%-3d in %d of them" % (kind, sm, count))


if __name__ == "__main__":
    main(sys.argv[1:])
