"""A small real training run for Atelier: a tiny classifier, a few hundred steps, on CUDA when visible.

Reads (from the environment Atelier sets):
  ATELIER_INPUT_DATA   optional: a directory with `features.pt` and `labels.pt` tensors
  ATELIER_OUTPUT_DIR   where the checkpoint and metrics go (listed and downloadable after the job)
Without input data it trains on a seeded synthetic two-moons problem and says so.
Run it yourself:  ATELIER_OUTPUT_DIR=/tmp/out python examples/train.py --steps 200
"""

import argparse
import json
import math
import os
import time
from pathlib import Path

import torch
from torch import nn


def synthetic_moons(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    angle = torch.rand(n, generator=generator) * math.pi
    upper = torch.rand(n, generator=generator) < 0.5
    x = torch.where(upper, torch.cos(angle), 1 - torch.cos(angle))
    y = torch.where(upper, torch.sin(angle), 0.5 - torch.sin(angle))
    points = torch.stack([x, y], dim=1) + 0.1 * torch.randn(n, 2, generator=generator)
    return points, upper.long()


def load_data(generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, str]:
    data_dir = os.environ.get("ATELIER_INPUT_DATA")
    if data_dir and (Path(data_dir) / "features.pt").exists():
        features = torch.load(Path(data_dir) / "features.pt", weights_only=True)  # tensors only: never unpickle code
        return features, torch.load(Path(data_dir) / "labels.pt", weights_only=True), data_dir
    features, labels = synthetic_moons(4096, generator)
    return features, labels, "synthetic two-moons (no ATELIER_INPUT_DATA given)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    output_dir = Path(os.environ.get("ATELIER_OUTPUT_DIR", "outputs"))
    output_dir.mkdir(parents=True, exist_ok=True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    generator = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)
    features, labels, source = load_data(generator)
    print(
        f"device={device} visible={os.environ.get('CUDA_VISIBLE_DEVICES', '')!r} data={source} samples={len(labels)}",
        flush=True,
    )

    model = nn.Sequential(
        nn.Linear(features.shape[1], 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, int(labels.max()) + 1)
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    features, labels = features.to(device), labels.to(device)
    started = time.monotonic()
    for step in range(1, args.steps + 1):
        batch = torch.randint(0, len(labels), (256,), generator=generator).to(device)
        loss = nn.functional.cross_entropy(model(features[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 50 == 0 or step == args.steps:
            print(f"step {step:4d}  loss {loss.item():.4f}", flush=True)
    with torch.no_grad():
        accuracy = (model(features).argmax(dim=1) == labels).float().mean().item()
    metrics = {
        "steps": args.steps,
        "final_loss": loss.item(),
        "accuracy": accuracy,
        "device": str(device),
        "seconds": time.monotonic() - started,
    }
    torch.save(model.state_dict(), output_dir / "model.pt")
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(f"accuracy {accuracy:.3f}; wrote {output_dir / 'model.pt'} and metrics.json", flush=True)


if __name__ == "__main__":
    main()
