"""Tasks as Lightning DataModules: in-memory tensors, batches by slicing (``base.py``)."""
