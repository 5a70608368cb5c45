"""One module per `schedlang` subcommand; see schedlang.cli.SUBCOMMANDS."""
