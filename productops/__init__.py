"""productops: Product Operations signals turned into trusted metric tables."""

from importlib.metadata import PackageNotFoundError, version

# One version, pyproject.toml's: CHANGELOG.md's newest release names it (a test checks).
try:
    __version__ = version("productops")
except PackageNotFoundError:  # the code imported from a folder it was never installed from
    __version__ = "0+unknown"
