"""workflows: the ``microjax-survey`` command line and job configs.

The only layer that sets process-wide options (float64, platform, logging).
"""
