"""Errors a user can act on. The CLI prints their message (one paragraph) and exits with 2."""

from __future__ import annotations


class IlmError(Exception):
    """An expected failure: shown to the user without a traceback, exit code 2."""

    exit_code = 2


class ConfigError(IlmError):
    """The experiment config or a command-line value is invalid."""


class UnknownPluginError(ConfigError):
    """A plugin name that no installed plugin provides."""


class PluginError(IlmError):
    """A plugin broke a rule of the framework, or raised while it was running.

    The message always names the plugin (kind and name) and the stage.
    """

    def __init__(self, message: str, *, plugin: str | None = None, stage: str | None = None):
        super().__init__(message)
        self.plugin = plugin
        self.stage = stage


class HeldOutAccessError(PluginError):
    """A teacher asked for the held-out final exam, which only the core may read."""


class LabelAccessError(PluginError):
    """A teacher that is not a declared privileged reference asked for the pool's exam-domain labels."""


class StudentDivergedError(IlmError):
    """A student's loss became NaN or infinite and the run's policy is to stop."""


class RunDirError(IlmError):
    """The run directory is locked, not a run, or its files are damaged."""


class TeacherDivergedError(IlmError):
    """A teacher reported NaN or infinite statistics and the run's policy is to stop."""
