"""The five sources, each declared the same way (see `base.Source`)."""

from productops.sources.base import Rule, Source
from productops.sources.feedback import FEEDBACK
from productops.sources.licences import LICENCES
from productops.sources.nps import NPS
from productops.sources.social import SOCIAL
from productops.sources.tool_usage import TOOL_USAGE

SOURCES: dict[str, Source] = {s.name: s for s in (NPS, FEEDBACK, SOCIAL, TOOL_USAGE, LICENCES)}
DAILY_SOURCES = tuple(s for s in SOURCES.values() if s.daily)

__all__ = ["DAILY_SOURCES", "SOURCES", "Rule", "Source"]
