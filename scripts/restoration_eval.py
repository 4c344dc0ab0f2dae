"""How well does a shipped MNIST model restore damaged digits? The protocol of issue 15, printed as one table.

    .venv/bin/python scripts/restoration_eval.py [--checkpoint checkpoints/mnist-cdcgan.pt] [--n 500] [--skip-inversion]
                                                  [--damage centre random50 noise0.5] [--steps 200 --restarts 4]

A fixed list of bundled digits (every 20th of the 10,000: indices 0, 20, 40, ...), each damaged three ways: the
centre 14x14 removed, half the pixels removed at random (seeded per digit), or Gaussian noise of sigma 0.5
added. Each is restored three ways: the generator's fill (invert, then known pixels composed with G's image;
for noise, G's image itself), the missing part filled with background (black), and filled with the mean
training image (for noise: the noisy input itself, and the mean image). For each: how often the shipped
evaluator reads the restored digit as its true label, and the mean squared error on the damaged pixels (all
pixels for noise), in [-1, 1] units. Inversion's own figures, on the undamaged digits: reconstruction MSE,
evaluator agreement (the reconstruction read as the true label) and seconds per image.

--visible-bound adds, for each mask, a reference: the evaluator's architecture trained (same recipe) on the other
9,500 digits damaged the same way, read on the 500. Any restoration is a function of the visible pixels, and so is
the evaluator's reading of it; this classifier shows how well the visible pixels alone can be read (an estimate:
a better classifier could read them better).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ganplay.checkpoints import load_generator
from ganplay.data import load_dataset
from ganplay.evaluators import fit_classifier, load_evaluator
from ganplay.inversion import compose, invert
from ganplay.restoration import damage, preset_known
from ganplay.sources import to_float


def make_damage(kind: str, image: torch.Tensor, index: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(the damaged image, the known pixels or None for noise), as invert --mask-preset / --noise makes them."""
    if kind.startswith("noise"):
        return damage(image, None, float(kind[len("noise") :]), seed=index), None
    known = preset_known(kind, tuple(image.shape[1:]), seed=index)
    return damage(image, known, None), known


def visible_pixels_reference(kind: str, data, indices: list[int], damaged: torch.Tensor, labels: torch.Tensor) -> dict:
    """Train on every other bundled digit damaged like `kind`, read the damaged test digits; its accuracy."""
    held_out = set(indices)
    train = [i for i in range(len(data)) if i not in held_out]
    images = torch.stack([make_damage(kind, to_float(data.images[i]).cpu(), i)[0] for i in train])
    net = fit_classifier(to_uint8(images), data.labels[train], num_classes=10, seed=0).eval()
    with torch.no_grad():
        read = net(damaged).argmax(1)
    return {"accuracy": float((read == labels).float().mean()), "trained_on": len(train)}


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "mnist-cdcgan.pt"))
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--damage", nargs="+", default=["centre", "random50", "noise0.5"])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--restarts", type=int, default=4)
    parser.add_argument(
        "--skip-inversion", action="store_true", help="only the damages (several processes can share the work)"
    )
    parser.add_argument(
        "--visible-bound", action="store_true", help="also a classifier trained on the visible pixels (see above)"
    )
    args = parser.parse_args()
    generator, ckpt = load_generator(args.checkpoint)
    evaluator = load_evaluator(ROOT / "checkpoints" / "evaluators" / "mnist.pt")
    data = load_dataset("mnist-bundled")
    indices = list(range(0, len(data), len(data) // args.n))[: args.n]
    images, labels = to_float(data.images[indices]).cpu(), data.labels[indices]
    mean_image = to_float(data.images).float().mean(0).cpu()
    reads = lambda x: evaluator.predict(x)[0].argmax(1)

    report = {"checkpoint": args.checkpoint, "digits": len(images), "steps": args.steps, "restarts": args.restarts}
    if not args.skip_inversion:
        start = time.perf_counter()
        recon = torch.stack(
            [invert(generator, ckpt, x, steps=args.steps, restarts=args.restarts).image for x in images]
        )
        per_image = (time.perf_counter() - start) / len(images)
        report["inversion"] = {
            "mse": float(((recon - images) ** 2).mean()),
            "evaluator_agreement": float((reads(recon) == labels).float().mean()),
            "seconds_per_image": round(per_image, 2),
        }
        print(json.dumps(report["inversion"]), flush=True)
    for kind in args.damage:
        restored, background, mean_fill, where = [], [], [], []
        for i, (x, index) in enumerate(zip(images, indices)):
            damaged, known = make_damage(kind, x, index)
            state = invert(generator, ckpt, damaged, known, steps=args.steps, restarts=args.restarts, seed=index)
            if known is None:  # noise: every pixel is damaged; G's image is the restoration
                restored.append(state.image)
                background.append(damaged)  # the baseline: keep the noisy input
                mean_fill.append(mean_image)
                where.append(torch.ones(x.shape[1:], dtype=torch.bool))
            else:
                restored.append(compose(damaged, known, state.image))
                background.append(damaged)  # missing pixels are already black: the background
                mean_fill.append(compose(damaged, known, mean_image))
                where.append(~known)
            if (i + 1) % 100 == 0:
                print(f"{kind}: {i + 1}/{len(images)}", file=sys.stderr, flush=True)
        mask = torch.stack(where)[:, None].expand_as(images)
        rows = {}
        for method, batch in (
            ("gan", restored),
            ("background" if kind[:5] != "noise" else "noisy input", background),
            ("mean image", mean_fill),
        ):
            batch = torch.stack(batch)
            rows[method] = {
                "accuracy": float((reads(batch) == labels).float().mean()),
                "mse_damaged_pixels": float(((batch - images) ** 2)[mask].mean()),
            }
        if args.visible_bound and known is not None:
            rows["classifier of the visible pixels"] = visible_pixels_reference(
                kind, data, indices, torch.stack(background), labels
            )
        report[kind] = rows
        print(json.dumps({kind: rows}), flush=True)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
