"""What every sweep worker imports, imported once by the workers' fork server.

``WorkerBackend.prepare`` starts a ``forkserver`` that imports this module (torch, Lightning,
the training code: seconds) while the sweep plans; each worker is then a fork of that server,
ready at once, and N workers pay for one import instead of N.

Forking is safe only while the server has no thread but its main one. Imported with one
OpenMP and one MKL thread, none of these starts a thread (a test checks); each worker then
sets its own thread count (``process_state.restore``) before its first run. The spin-wait
policy is read once, when OpenMP loads, so it is set here as each worker sets it. An import
that fails here is left to the worker, which imports these itself and reports the error.
"""

import os

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    import torch  # noqa: F401

    import project.training.run  # noqa: F401
    from project.training import process_state  # noqa: F401
except Exception:  # noqa: BLE001 - the worker's own import says what is wrong
    pass
