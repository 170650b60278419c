"""Stage 4, what people run: the CLI, the live view, the report, batch runs, the session
library, recording and flashing. Apps read the analysis (``sacrum.analysis``); none wires
the stages itself."""
