"""Plain-torch models: feature modules, pooling layers and the pooling network."""
