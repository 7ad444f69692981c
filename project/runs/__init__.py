"""The run contract, below training: a run's folder (``folder``), its identity and which
config keys it measures (``identity``), the config composed as the command line would
(``compose``) and the summary's fields (``summary``)."""
