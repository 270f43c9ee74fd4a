#!/usr/bin/python3
"""Writes PNGs that decode fine but make libpng (through libvips) warn, for tests/library_warnings_test.cpp.

  python3 tests/odd_png_chunks.py DIR N   ->  DIR/{iccp,text-crc,srgb,gama}-K.png for K < N, and DIR/plain.png
Kinds: an iCCP chunk whose profile is too short, a tEXt chunk with a wrong CRC, an sRGB chunk with rendering intent
7, a gAMA chunk of 0. Each image is 64x48 RGB of its own colour.
"""
import os
import struct
import sys
import zlib

from PIL import Image


def chunk(kind, body, crc=None):
    crc = zlib.crc32(kind + body) if crc is None else crc
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    for k in range(n):
        colour = (40 + 50 * k % 200, 30 + 70 * k % 200, 90)
        Image.new("RGB", (64, 48), colour).save(os.path.join(out, "iccp-%d.png" % k), icc_profile=b"\0\0\0\x10ab")
        plain = os.path.join(out, "plain.png")
        Image.new("RGB", (64, 48), colour).save(plain)
        data = open(plain, "rb").read()
        at = data.index(b"IDAT") - 4  # extra chunks go before the image data
        extra = {
            "text-crc": chunk(b"tEXt", b"Comment\0odd", crc=12345),
            "srgb": chunk(b"sRGB", b"\x07"),
            "gama": chunk(b"gAMA", struct.pack(">I", 0)),
        }
        for name, body in extra.items():
            with open(os.path.join(out, "%s-%d.png" % (name, k)), "wb") as f:
                f.write(data[:at] + body + data[at:])


if __name__ == "__main__":
    main()
