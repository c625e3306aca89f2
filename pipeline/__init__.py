"""pipeline: survey simulation, event fitting, Dask orchestration and the Parquet catalog.

Built on ``microjax_core``; imports nothing from ``workflows``. Its modules
arrive with their issues (simulator, fits, orchestration, catalog).
"""
