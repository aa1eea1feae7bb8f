"""Detection quality at IoU 0.5: average precision per class (all-point interpolation, as VOC 2010+
and COCO's AP50 compute it), their mean (mAP@0.5), and precision and recall at a score threshold."""

from training.detector.model import box_iou


def evaluate(
    predictions: list[list[tuple]], truths: list[list[tuple]], *, classes: int, score_threshold: float = 0.3
) -> dict:
    """`predictions[i]`: (class, score, x0, y0, x1, y1) of image i; `truths[i]`: (class, x0, y0, x1, y1)."""
    per_class = {}
    for cls in range(classes):
        count = sum(1 for truth in truths for t in truth if t[0] == cls)
        if count:
            per_class[cls] = _average_precision(predictions, truths, cls=cls, count=count)
    tp = fp = 0
    total = sum(len(t) for t in truths)
    for found, truth in zip(predictions, truths, strict=True):
        kept = [p for p in found if p[1] >= score_threshold]
        matched = _match(kept, truth)
        tp += sum(matched)
        fp += len(matched) - sum(matched)
    return {
        "map50": sum(per_class.values()) / len(per_class) if per_class else None,
        "ap50_per_class": per_class,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / total if total else None,
        "score_threshold": score_threshold,
        "objects": total,
    }


def _match(found: list[tuple], truth: list[tuple]) -> list[bool]:
    """Greedy by score: each prediction a true positive when it overlaps a free truth of its class ≥ 0.5."""
    used = [False] * len(truth)
    hits = []
    for p in sorted(found, key=lambda d: -d[1]):
        best, best_iou = -1, 0.5
        for i, t in enumerate(truth):
            if not used[i] and t[0] == p[0] and (iou := box_iou(p[2:], t[1:])) >= best_iou:
                best, best_iou = i, iou
        if best >= 0:
            used[best] = True
        hits.append(best >= 0)
    return hits


def _average_precision(predictions, truths, *, cls: int, count: int) -> float:
    scored = []
    for found, truth in zip(predictions, truths, strict=True):
        mine = [p for p in found if p[0] == cls]
        scored += [(p[1], hit) for p, hit in zip(sorted(mine, key=lambda d: -d[1]), _match(mine, truth), strict=True)]
    scored.sort(key=lambda s: -s[0])
    tp = fp = 0
    points = []
    for _, hit in scored:
        tp, fp = tp + hit, fp + (not hit)
        points.append((tp / count, tp / (tp + fp)))
    ap, best = 0.0, 0.0
    previous_recall = 0.0
    # All-point interpolation: precision at recall r is the best precision at any recall ≥ r.
    envelope = []
    for recall, precision in reversed(points):
        best = max(best, precision)
        envelope.append((recall, best))
    for recall, precision in reversed(envelope):
        ap += (recall - previous_recall) * precision
        previous_recall = recall
    return ap
