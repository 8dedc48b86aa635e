"""Diagnostics: residuals, hat values, cluster-deletion influence, ``without``, ``check``."""

from .checks import Finding, check
from .influence import FLAG_FACTOR, influence, varcorr_labels
from .residuals import hatvalues, residuals
from .without import WithoutResult, without

__all__ = [
    "FLAG_FACTOR", "Finding", "WithoutResult", "check", "hatvalues", "influence", "residuals",
    "varcorr_labels", "without",
]
