"""The command-line interface: the only place that prints, renders errors and chooses exit codes."""
