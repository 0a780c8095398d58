"""A local chat assistant with defensive UX: cited answers, honest refusals, feedback, evals.

Importing it changes nothing: entry points call `assistant.offline.enforce_offline()` first.
"""

__version__ = "0.1.0"
