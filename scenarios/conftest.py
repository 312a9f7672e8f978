pytest_plugins = ["harness.scenario_plugin"]
