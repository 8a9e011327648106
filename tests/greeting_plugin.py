"""A plugin module (for test_plugin_commands) whose command takes a free name."""

from benchbench import hookimpl


@hookimpl
def benchbench_register_commands(cli):
    @cli.command()
    def greet() -> None:
        """Greet (a plugin's command)."""
        print("greetings")
