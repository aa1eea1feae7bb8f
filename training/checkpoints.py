"""Does a checkpoint load? Asked of a child process, never of the portal's own: a crafted or huge file
can only crash or exhaust that child (killed after ATELIER_MODEL_LOAD_TIMEOUT seconds), and the web
process never imports torch.

The children are forked from a multiprocessing forkserver that imported torch once, when the first
checkpoint was checked: a fresh interpreter per check paid torch's import every time (about 2 s on
an idle 2-core machine, 30 s on a loaded one), which was most of a registration. The forkserver is a
process of its own (started by exec, not forked from the portal), so it holds no portal state; it
ends with the process that started it.
"""

import multiprocessing
import threading

from django.conf import settings

STATE_DICT = "torch_state_dict"
TORCHSCRIPT = "torchscript"
NOT_A_MAPPING = "it loads as a {kind}, not a mapping of names to tensors"
TIMED_OUT = "loading took more than {seconds:g} s"
CRASHED = "the loader stopped with status {code}"

_forkserver_lock = threading.Lock()
_forkserver_context = None


# multiprocessing's exit code for a child whose status the forkserver never reported (it was gone by
# then): says nothing about the file.
STATUS_LOST = 255


def checkpoint_load_error(path: str, format: str) -> str | None:
    """None when the file loads as `format`; otherwise the loader's words. A lost status is asked once
    more, of a forkserver started again if it is gone (CI saw one lost among four registrations at once)."""
    error = _checked_in_child(path, format)
    if error == CRASHED.format(code=STATUS_LOST):
        error = _checked_in_child(path, format)
    return error


def _checked_in_child(path: str, format: str) -> str | None:
    seconds = settings.MODEL_LOAD_TIMEOUT
    context = _context()
    answer, reply = context.Pipe(duplex=False)
    # Plain strings only: a model's choice member would make the child import the models unprepared.
    child = context.Process(target=_probe_and_reply, args=(str(path), str(format), reply), name="checkpoint-probe")
    child.start()  # returns once the forkserver forked the child: torch's import is not in the timeout
    reply.close()
    try:
        child.join(seconds)
        if child.is_alive():
            child.kill()
            child.join()
            return TIMED_OUT.format(seconds=seconds)
        if child.exitcode != 0:
            return CRASHED.format(code=child.exitcode)
        try:
            return answer.recv()  # the loader's words; a child that loaded the file sent nothing
        except EOFError:
            return None
    finally:
        answer.close()
        child.close()


def _context():
    global _forkserver_context
    with _forkserver_lock:
        if _forkserver_context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["torch", "training.checkpoints"])
            _forkserver_context = context
        return _forkserver_context


def _probe_and_reply(path: str, format: str, reply) -> None:
    error = _probe(path, format)
    if error:
        reply.send(error[:500])
    reply.close()


def _probe(path: str, format: str) -> str | None:
    import warnings

    import torch

    warnings.simplefilter("ignore")
    try:
        if format == TORCHSCRIPT:
            torch.jit.load(path, map_location="cpu")
            return None
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any loader error is the file's: report it in the loader's words
        text = str(exc).strip() or type(exc).__name__
        return text.splitlines()[0]
    return None if isinstance(loaded, dict) else NOT_A_MAPPING.format(kind=type(loaded).__name__)
