from platformio.public import PlatformBase


class EmcqemuPlatform(PlatformBase):
    """Everything is in builder/main.py; no packages to install."""
