"""Statistics of the convergence protocol (docs/protocol.md): per-run figures, censoring,
bootstrap, exact binomial intervals, significance, robust aggregates, profiles (pure: no
Lightning, no pandas)."""
