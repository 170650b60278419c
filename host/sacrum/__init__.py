"""sacrum: measure pelvic control while walking and on stairs.

Data flows through the modules in this order: transports -> decode ->
orientation -> mounting -> pelvic angles -> gait events -> metrics -> live view,
report and CLI. The wire and capture formats are defined in protocol/SPEC.md
and implemented once, in the top-level module ``sacrum_protocol``.
"""

__version__ = "0.1.0"
