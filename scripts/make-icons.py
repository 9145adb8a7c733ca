"""Draw the web app's PNG icons (web/public/icon-*.png) from the shapes of web/public/icon.svg.

    .venv/bin/python scripts/make-icons.py

Standard library only (zlib + struct, no imaging package): a blue rounded square with the
white walk and its green start, 4x supersampled. Two kinds, each at 192 and 512 pixels:
- icon-<size>.png (purpose "any"): the rounded square, transparent corners;
- icon-maskable-<size>.png (purpose "maskable"): full-bleed blue, the walk scaled into the
  safe zone (the centred circle of 40% radius) so any mask shape keeps it whole.
The PNGs are committed; run this again only when the design changes.
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "web" / "public"
SUPER = 4
BLUE = (0x15, 0x65, 0xC0, 255)
WHITE = (255, 255, 255, 255)
GREEN = (0x8B, 0xC3, 0x4A, 255)
CLEAR = (0, 0, 0, 0)
# icon.svg: M120 380 C180 260 250 330 300 220 S380 140 400 130 (viewBox 512).
CURVES = [
    ((120, 380), (180, 260), (250, 330), (300, 220)),
    ((300, 220), (350, 110), (380, 140), (400, 130)),
]


def bezier(p0, p1, p2, p3, steps: int = 400):
    for i in range(steps + 1):
        t = i / steps
        u = 1 - t
        yield (
            u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
            u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
        )


class Canvas:
    """Colour indices on a supersampled grid, filled a row span at a time."""

    def __init__(self, size: int, colours: list[tuple[int, int, int, int]]) -> None:
        self.size = size * SUPER
        self.colours = colours
        self.cells = bytearray(self.size * self.size)

    def span(self, row: int, start: float, end: float, colour: int) -> None:
        if not 0 <= row < self.size:
            return
        first, last = max(0, int(start)), min(self.size, int(end) + 1)
        if first < last:
            base = row * self.size
            self.cells[base + first : base + last] = bytes([colour]) * (last - first)

    def disc(self, cx: float, cy: float, radius: float, colour: int) -> None:
        for row in range(int(cy - radius), int(cy + radius) + 2):
            dy = row + 0.5 - cy
            if dy * dy <= radius * radius:
                half = (radius * radius - dy * dy) ** 0.5
                self.span(row, cx - half, cx + half, colour)

    def rounded_square(self, corner: float, colour: int) -> None:
        n = self.size
        for row in range(n):
            y = row + 0.5
            dy = max(corner - y, y - (n - corner), 0.0)
            inset = corner - (corner * corner - dy * dy) ** 0.5 if dy else 0.0
            self.span(row, inset, n - inset, colour)

    def png(self) -> bytes:
        size = self.size // SUPER
        rows = bytearray()
        for y in range(size):
            rows.append(0)  # filter: none
            for x in range(size):
                total = [0, 0, 0, 0]
                for sy in range(SUPER):
                    base = (y * SUPER + sy) * self.size + x * SUPER
                    for index in self.cells[base : base + SUPER]:
                        r, g, b, a = self.colours[index]
                        total[0] += r * a
                        total[1] += g * a
                        total[2] += b * a
                        total[3] += a
                alpha = total[3]
                if alpha:
                    rows += bytes(
                        (total[0] // alpha, total[1] // alpha, total[2] // alpha, alpha // SUPER**2)
                    )
                else:
                    rows += b"\0\0\0\0"

        def chunk(kind: bytes, data: bytes) -> bytes:
            body = kind + data
            return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

        header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
            + chunk(b"IEND", b"")
        )


def icon(size: int, maskable: bool) -> bytes:
    canvas = Canvas(size, [CLEAR, BLUE, WHITE, GREEN])
    unit = canvas.size / 512
    if maskable:
        canvas.rounded_square(0.0, 1)
    else:
        canvas.rounded_square(96 * unit, 1)
    shrink = 0.8 if maskable else 1.0  # the walk inside the maskable safe zone

    def at(x: float, y: float) -> tuple[float, float]:
        return ((256 + (x - 256) * shrink) * unit, (256 + (y - 256) * shrink) * unit)

    for curve in CURVES:
        for x, y in bezier(*curve):
            canvas.disc(*at(x, y), 18 * shrink * unit, 2)
    canvas.disc(*at(120, 380), 34 * shrink * unit, 3)
    canvas.disc(*at(400, 130), 34 * shrink * unit, 2)
    return canvas.png()


def main() -> int:
    for size in (192, 512):
        for maskable in (False, True):
            name = f"icon-maskable-{size}.png" if maskable else f"icon-{size}.png"
            (OUT / name).write_bytes(icon(size, maskable))
            print(f"wrote web/public/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
