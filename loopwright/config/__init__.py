"""The platform's configuration: ``loopwright.toml`` plus environment variables."""

from .checks import Check, config_checks
from .environ import apply, as_environ
from .model import ConfigError, LoopwrightConfig, load_config
from .signals import core_constants

__all__ = [
    "Check",
    "ConfigError",
    "LoopwrightConfig",
    "apply",
    "as_environ",
    "config_checks",
    "core_constants",
    "load_config",
]
