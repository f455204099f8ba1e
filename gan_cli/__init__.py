"""gan-cli: a command-line GAN experiment runner."""

__version__ = "0.1.0"
