"""productops: Product Operations signals turned into trusted metric tables."""

__version__ = "0.1.0"
