"""A small plain-torch detector for webtoon strips (docs/models.md "Training template"): a few
convolutions and a centre-heatmap head, trained on tiles of tall strips. Pure Python and torch, no
Django: the training job (`examples/train_detector.py`) and, later, pre-labeling import it, and the
demo and the benchmark draw their strips with `synthetic`."""
