"""Convergence protocol (docs: ../shared/docs/PROTOCOL.md): per-run figures, statistics, callback."""
