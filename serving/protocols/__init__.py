"""One module per wire protocol; each maps its requests to model Jobs and its answers back."""
