"""Ending the `netspec` process without Python's interpreter teardown.

With torch (and torch._dynamo, scikit-learn) imported, Python's finalization -- clearing every
module and freeing every object one by one -- takes about a second after the command is done
(measured: imports done at 4.2 s, process gone at 5.3 s, 9 ms of it atexit callbacks). Nothing of a
command's result depends on it: so the console script and ``python -m netspec`` end with
``os._exit`` once the command has returned, after doing what a normal exit does that matters:

* the atexit callbacks run (multiprocessing's cleanup, trackers' and libraries' own hooks);
* every open, writable file object is flushed (a buffered file no one closed would otherwise lose
  its tail: finalization flushes it by deallocating it), and stdout/stderr are flushed;
* if any non-daemon thread is still alive, the normal exit is taken instead (it waits for them).

``main()`` itself (which tests call in-process) never exits this way; NETSPEC_SLOW_EXIT=1 turns it off.
"""

from __future__ import annotations

import atexit
import gc
import io
import os
import sys
import threading
import warnings
from typing import Callable, NoReturn

#: the file objects open() makes (text, buffered, raw): the ones a forgotten close leaves with a tail
WRITERS = (io.TextIOWrapper, io.BufferedWriter, io.BufferedRandom, io.FileIO)


def run(main: Callable[[], None]) -> NoReturn:
    """Run ``main`` and end the process with its exit code, skipping the teardown where that is safe."""
    code: object = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    status = code if isinstance(code, int) else (0 if code is None else 1)
    if not isinstance(code, int) and code is not None:
        print(code, file=sys.stderr)  # SystemExit("message"), as Python prints it
    if os.environ.get("NETSPEC_SLOW_EXIT") == "1" or _other_threads():
        sys.exit(status)
    atexit._run_exitfuncs()  # noqa: SLF001 - what a normal exit runs first
    if _other_threads():  # a callback started one: let Python wait for it
        sys.exit(status)
    _flush_open_files()
    os._exit(status)


def _other_threads() -> bool:
    main = threading.main_thread()
    return any(t is not main and t.is_alive() and not t.daemon for t in threading.enumerate())


def _flush_open_files() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    with warnings.catch_warnings():  # a deprecated object met on the way must not warn at exit
        warnings.simplefilter("ignore")
        for obj in gc.get_objects():
            # type(), not isinstance: an ABC check reads __class__, which some proxies answer with a warning
            if type(obj) in WRITERS:
                try:
                    if not obj.closed and obj.writable():
                        obj.flush()
                except (OSError, ValueError):
                    pass
