"""The pytest entry point of sacrum's test fixtures: does nothing unless a project asks.

Installed with sacrum (``[project.entry-points.pytest11] sacrum = "pytest_sacrum"``), so
pytest imports this module in every project of an environment that has sacrum; it imports
nothing of sacrum and registers no fixture. A project enables the fixtures
(``sacrum.testing.plugin``; docs/testing.md) in one of three ways:

* ``sacrum_replay = true`` in its pytest ini (``pytest.ini``, ``[tool.pytest.ini_options]``):
  this module then loads the plugin before the command line is parsed;
* ``-p sacrum.testing.plugin`` on the command line (or in ``addopts``);
* ``pytest_plugins = ["sacrum.testing.plugin"]`` in its root ``conftest.py``.

``-p no:sacrum`` keeps even this module out.
"""

from __future__ import annotations

PLUGIN = "sacrum.testing.plugin"
INI_ENABLE = "sacrum_replay"


def pytest_addoption(parser) -> None:
    parser.addini(INI_ENABLE, "load sacrum's replay fixtures (sacrum.testing.plugin)",
                  type="bool", default=False)


def pytest_load_initial_conftests(early_config, parser, args) -> None:
    if early_config.getini(INI_ENABLE):
        early_config.pluginmanager.import_plugin(PLUGIN)
