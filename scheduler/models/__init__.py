"""Scheduler state, one module per area. Import models from here: `from scheduler.models import Gpu`."""
from scheduler.models.fleet import Gpu, GpuState, Node

__all__ = ["Gpu", "GpuState", "Node"]
