from netspec.cli.app import main
from netspec.cli.process_exit import run

run(main)
