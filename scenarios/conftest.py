pytest_plugins = ["harness.scenarios.pytest_plugin"]
