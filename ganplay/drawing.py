"""What the server-drawn pictures share (the Toy lab's plane, the live curves): the pixel density, fonts, colours
and axis ticks. PIL only: a picture shows with the page, where a plotly chart first needs its 4.7 MB script."""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Sequence

from PIL import Image, ImageFont

SCALE = 2  # pixels per CSS pixel: sharp on high-density screens, smoothed by the browser elsewhere
INK = (40, 40, 40, 255)
FRAME = (150, 150, 150, 255)
GRID = (232, 232, 232, 255)


@functools.lru_cache(maxsize=16)
def font(size: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at `size` CSS pixels (no font file needed, so it works on any machine)."""
    return ImageFont.load_default(size=size * SCALE)


def rgba(colour: str, alpha: float = 1.0) -> tuple[int, int, int, int]:
    """'#rrggbb' or 'rgba(r,g,b,a)' (a from 0 to 1, as plotly writes it) -> an RGBA tuple of 0-255 ints, its
    opacity times `alpha`."""
    if colour.startswith("#"):
        r, g, b, a = int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16), 1.0
    else:
        r, g, b, a = (float(v) for v in colour[colour.index("(") + 1 : colour.index(")")].split(","))
    return (int(r), int(g), int(b), round(a * alpha * 255))


def nice_ticks(low: float, high: float, target: int = 6) -> list[float]:
    """Round values (1, 2 or 5 times a power of ten apart) inside [low, high], about `target` of them."""
    if not high > low:
        return [low]
    raw = (high - low) / target
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9)
    return [round(k * step, 10) for k in range(first, math.floor(high / step + 1e-9) + 1)]


def tick_label(value: float) -> str:
    """12000 -> '12k', 1500000 -> '1.5M', 0.25 -> '0.25': short enough for an axis."""
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


TINTS = (1.0, 0.8, 0.6, 0.45, 0.3, 0.2, 0.12)  # shares of a colour over white, for antialiased edges


def palette_png(image: Image.Image, colours: Sequence[str]) -> bytes:
    """PNG of an RGB picture made of `colours` (and INK, FRAME, GRID) over white, as 8-bit palette indices: a
    sixth of the encoding time of RGB, which a live view pays at every refresh. Each colour also gets tints
    towards white (antialiased text and edges, translucent lines); anything else takes the nearest entry."""
    entries = {GRID[:3]}  # the grid's pale grey alone: its tints would be near-white, which PIL's lookup
    for r, g, b in {*(rgba(c)[:3] for c in colours), INK[:3], FRAME[:3]}:  # would take for white itself
        entries.update(tuple(round(c * t + 255 * (1 - t)) for c in (r, g, b)) for t in TINTS)
    entries.discard((255, 255, 255))
    flat = [c for entry in [(255, 255, 255), *sorted(entries)][:256] for c in entry]
    palette = Image.new("P", (1, 1))
    palette.putpalette(flat + [255] * (768 - len(flat)))
    return png_bytes(image.quantize(palette=palette, dither=Image.Dither.NONE))


def png_bytes(image: Image.Image) -> bytes:
    """PNG at zlib level 1: a third of the default's encoding time; the picture travels to a local browser."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
