"""The sandbox's GitHub: a REST emulator on real bare git repositories, smart-HTTP git, and a Pages host."""
