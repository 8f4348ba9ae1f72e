"""Writes the reference PNGs read by Tests/SRImageTests/PNGFixtureTests.swift.

They come from pypng, an encoder independent of libpng, and cover the kinds our own writer never
produces (palette, tRNS, 1/2/4-bit gray, interlaced) plus 16-bit byte order. The pixel formulas
are repeated in the Swift test, which checks every decoded value exactly.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install pypng==0.20220715.0
    /tmp/venv/bin/python Tests/Fixtures/png/make_fixtures.py
"""
import os

import png

HERE = os.path.dirname(os.path.abspath(__file__))

# Palettes shared with the Swift test.
PALETTE = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (12, 34, 56), (200, 100, 50)]
PALETTE_TRNS = [(10, 20, 30, 0), (40, 50, 60, 128), (70, 80, 90, 255), (250, 240, 230)]


def rgb8(x, y, c):
    return (x * 37 + y * 11 + c * 80) % 256


def sample16(x, y, c):
    return (x * 9973 + y * 31337 + c * 7919 + 12345) % 65536


def save(name, width, height, value, channels, **options):
    rows = [[value(x, y, c) for x in range(width) for c in range(channels)] for y in range(height)]
    with open(os.path.join(HERE, name), "wb") as f:
        png.Writer(width, height, **options).write(f, rows)


save("gray1.png", 11, 3, lambda x, y, c: (x + y) % 2, 1, greyscale=True, bitdepth=1)
save("gray2_interlaced.png", 7, 3, lambda x, y, c: (x + 2 * y) % 4, 1,
     greyscale=True, bitdepth=2, interlace=True)
save("gray4.png", 5, 4, lambda x, y, c: (3 * x + y) % 16, 1, greyscale=True, bitdepth=4)
save("gray8_trns.png", 6, 2, lambda x, y, c: (x * 40 + y * 20) % 256, 1,
     greyscale=True, bitdepth=8, transparent=100)
save("palette8.png", 6, 4, lambda x, y, c: (x + 2 * y) % 5, 1, palette=PALETTE, bitdepth=8)
save("palette2_trns.png", 7, 3, lambda x, y, c: (2 * x + y) % 4, 1,
     palette=PALETTE_TRNS, bitdepth=2)
save("rgb16.png", 4, 3, sample16, 3, greyscale=False, bitdepth=16)
save("interlaced_rgb8.png", 9, 7, rgb8, 3, greyscale=False, bitdepth=8, interlace=True)
save("interlaced_rgba16.png", 5, 5, sample16, 4, greyscale=False, alpha=True, bitdepth=16,
     interlace=True)
