"""Analysis of optimizers beyond one race: stability limits, basin maps, lr sweeps, tuning.

Nothing here imports FastAPI; the routes, the CLI and the live session call into it.
"""
