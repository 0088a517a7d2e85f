"""The theme taxonomy as a resource, so a deployment can point at its own file."""

import dagster as dg

from productops.themes import Taxonomy, load_taxonomy


class ThemeTaxonomy(dg.ConfigurableResource):
    """`path` to a taxonomy TOML; the repo's `config/themes.toml` when unset."""

    path: str | None = None

    def load(self) -> Taxonomy:
        return load_taxonomy(self.path)
