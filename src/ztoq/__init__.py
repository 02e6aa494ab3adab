"""ztoq: migrate a Zephyr Scale test history to Tricentis qTest Manager."""

__version__ = "0.1.0"
