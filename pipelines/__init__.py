"""The code location (`definitions.py`), its automation and alerts, and what runs it.

Dagster 1.13 re-creates every sensor with its owners when it binds the sensor to its job
(`SensorDefinition.with_attributes` passes `owners=[]` to an initializer whose `owners`
parameter is marked beta), so loading any code location with a sensor warns about a
parameter this project never sets. The warning says nothing a user can act on; it is
silenced here, for that parameter only.
"""

import warnings

import dagster as dg

warnings.filterwarnings(
    "ignore", category=dg.BetaWarning, message=".*`owners` of initializer `SensorDefinition.*"
)
