"""Figures without matplotlib: CED curves as SVG (written by hand) or PNG (drawn with
OpenCV), and the numbered landmark order of a layout as SVG."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

WIDTH, HEIGHT, MARGIN = 640, 480, 60


def plot_ced(
    x: np.ndarray, y: np.ndarray, path: str | os.PathLike, title: str = "CED"
) -> Path:
    """Write the CED curve (NME on x, fraction of images on y) to ``.svg`` or ``.png``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        path.write_text(_svg(np.asarray(x), np.asarray(y), title), encoding="utf-8")
    elif suffix == ".png":
        _png(np.asarray(x), np.asarray(y), title, path)
    else:
        raise ValueError(f"Cannot plot to {path.name!r}: use a .svg or .png file name")
    return path


def _to_canvas(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Canvas (u, v) of curve points; x spans the plot width, y in [0, 1] its height."""
    span = x[-1] - x[0] if x[-1] > x[0] else 1.0
    u = MARGIN + (x - x[0]) / span * (WIDTH - 2 * MARGIN)
    v = HEIGHT - MARGIN - np.clip(y, 0, 1) * (HEIGHT - 2 * MARGIN)
    return np.stack([u, v], axis=1)


def _ticks(x: np.ndarray) -> list[tuple[float, float, str, str]]:
    """(u, v, x label, y label) of five ticks per axis: NME in percent, fraction."""
    ticks = []
    for k in range(5):
        value = x[0] + (x[-1] - x[0]) * k / 4
        u = MARGIN + k / 4 * (WIDTH - 2 * MARGIN)
        v = HEIGHT - MARGIN - k / 4 * (HEIGHT - 2 * MARGIN)
        ticks.append((u, v, f"{100 * value:.3g}%", f"{k / 4:g}"))
    return ticks


def _svg(x: np.ndarray, y: np.ndarray, title: str) -> str:
    points = " ".join(f"{u:.2f},{v:.2f}" for u, v in _to_canvas(x, y))
    bottom, right = HEIGHT - MARGIN, WIDTH - MARGIN
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">'
        ),
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="{MARGIN / 2}" text-anchor="middle" font-size="16">{_escape(title)}</text>',
        f'<path d="M{MARGIN},{MARGIN} V{bottom} H{right}" fill="none" stroke="black"/>',
    ]
    for u, v, label_x, label_y in _ticks(x):
        parts.append(
            f'<text x="{u:.1f}" y="{bottom + 18}" text-anchor="middle">{label_x}</text>'
        )
        parts.append(
            f'<text x="{MARGIN - 8}" y="{v + 4:.1f}" text-anchor="end">{label_y}</text>'
        )
    parts += [
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 15}" text-anchor="middle">NME</text>',
        (
            f'<text x="15" y="{HEIGHT / 2}" transform="rotate(-90 15 {HEIGHT / 2})" '
            'text-anchor="middle">Fraction of images</text>'
        ),
        f'<polyline points="{points}" fill="none" stroke="#1f5fbf" stroke-width="2"/>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def _png(x: np.ndarray, y: np.ndarray, title: str, path: Path) -> None:
    import cv2

    canvas = np.full((HEIGHT, WIDTH, 3), 255, dtype=np.uint8)
    bottom, right = HEIGHT - MARGIN, WIDTH - MARGIN
    black, font = (0, 0, 0), cv2.FONT_HERSHEY_SIMPLEX
    cv2.line(canvas, (MARGIN, MARGIN), (MARGIN, bottom), black, 1)
    cv2.line(canvas, (MARGIN, bottom), (right, bottom), black, 1)
    for u, v, label_x, label_y in _ticks(x):
        cv2.putText(
            canvas,
            label_x,
            (int(u) - 15, bottom + 20),
            font,
            0.4,
            black,
            1,
            cv2.LINE_AA,
        )
        cv2.putText(
            canvas, label_y, (MARGIN - 35, int(v) + 4), font, 0.4, black, 1, cv2.LINE_AA
        )
    cv2.putText(canvas, title, (MARGIN, MARGIN - 20), font, 0.6, black, 1, cv2.LINE_AA)
    curve = np.round(_to_canvas(x, y)).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(canvas, [curve], False, (191, 95, 31), 2, cv2.LINE_AA)
    if not cv2.imwrite(str(path), canvas):
        raise OSError(f"Cannot write {path}")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- the landmark order --------------------------------------------------------------

ORDER_SIZE, ORDER_MARGIN = 640, 48
# Consecutive points closer than this (in box units) lie on one contour and are joined.
CONTOUR_STEP = 0.12


def landmark_order_svg(shape: np.ndarray, title: str = "Landmark order") -> str:
    """An SVG of ``shape`` (L, 2) (image axes: y down) with each point numbered from 0.

    Numbers sit just outside the shape, away from its centre; consecutive points of
    one contour are joined by a faint line, so the order reads along each contour.
    """
    shape = np.asarray(shape, dtype=np.float64)
    canvas = _fit(shape, ORDER_SIZE, ORDER_MARGIN)
    centre = canvas.mean(axis=0)
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{ORDER_SIZE}" height="{ORDER_SIZE}" '
            f'viewBox="0 0 {ORDER_SIZE} {ORDER_SIZE}" font-family="sans-serif" font-size="10" role="img">'
        ),
        f"<title>{_escape(title)}</title>",
        f'<rect width="{ORDER_SIZE}" height="{ORDER_SIZE}" fill="white"/>',
        f'<text x="{ORDER_SIZE / 2}" y="24" text-anchor="middle" font-size="16">{_escape(title)}</text>',
    ]
    for k in range(1, len(shape)):
        if np.linalg.norm(shape[k] - shape[k - 1]) < CONTOUR_STEP:
            (u0, v0), (u1, v1) = canvas[k - 1], canvas[k]
            parts.append(f'<line x1="{u0:.1f}" y1="{v0:.1f}" x2="{u1:.1f}" y2="{v1:.1f}" stroke="#9db8e6"/>')
    for k, (u, v) in enumerate(canvas):
        away = np.array([u, v]) - centre
        away = away / max(float(np.linalg.norm(away)), 1e-9)
        lu, lv = u + 9 * away[0], v + 9 * away[1] + 3.5
        anchor = "start" if away[0] > 0.3 else "end" if away[0] < -0.3 else "middle"
        parts.append(f'<circle cx="{u:.1f}" cy="{v:.1f}" r="2.5" fill="#1f5fbf"/>')
        parts.append(f'<text x="{lu:.1f}" y="{lv:.1f}" text-anchor="{anchor}" fill="#1d2330">{k}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _fit(points: np.ndarray, size: int, margin: int) -> np.ndarray:
    """``points`` scaled uniformly and centred into a square canvas of ``size`` pixels."""
    low, high = points.min(axis=0), points.max(axis=0)
    span = max(float((high - low).max()), 1e-9)
    scale = (size - 2 * margin) / span
    offset = (size - (high - low) * scale) / 2
    return (points - low) * scale + offset
