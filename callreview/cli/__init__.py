"""The `callreview` command line: typer commands that parse, call a service or a flow, and print."""
