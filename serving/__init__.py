"""mlstack's model server: MLflow's scoring protocol and the Open Inference (V2) protocol, batched."""

__version__ = "0.1.0"
