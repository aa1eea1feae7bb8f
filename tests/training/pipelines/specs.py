"""Spec texts the pipeline tests share: the five-step loop of docs/pipelines.md, written once."""

LOOP = """
description: Freeze, train, evaluate, register and promote the strip detector.
parameters:
  dataset: {type: int}
  epochs: {type: int, default: 3}
  threshold: {type: float, default: 0.5}
steps:
  freeze:
    type: dataset.freeze
    parameters: {dataset: "{{ params.dataset }}"}
  train:
    type: train
    inputs: {dataset: "{{ steps.freeze.outputs.version }}"}
    parameters:
      command: python -m training.detector.train --epochs {{ params.epochs }}
      code: [training/detector/model.py]
    resources: {gpus: 1, time_limit: 2h}
    retries: {count: 2, backoff: 10s}
  evaluate:
    type: evaluate
    inputs:
      checkpoint: "{{ steps.train.outputs.checkpoint }}"
      dataset: "{{ steps.freeze.outputs.version }}"
    parameters: {command: python -m training.detector.evaluate, code: [training/detector/evaluate.py]}
  register:
    type: model.register
    inputs:
      checkpoint: "{{ steps.train.outputs.checkpoint }}"
      metrics: "{{ steps.evaluate.outputs.metrics }}"
    parameters: {model: strips, gate: "mAP50 >= {{ params.threshold }} and >= production"}
  promote:
    type: alias.move
    inputs: {version: "{{ steps.register.outputs.version }}"}
    parameters: {alias: staging}
"""


def job(command: str = "true", **more) -> dict:
    """A `job` step's body."""
    return {"type": "job", "parameters": {"command": command}, **more}
