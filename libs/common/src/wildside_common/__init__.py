"""Wildside shared library: messages, errors, configuration, telemetry and bus helpers.

Cross-cutting code only: no service's domain lives here.
"""

__version__ = "0.1.0"
