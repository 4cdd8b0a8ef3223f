"""See inside gradient descent: source of the updates, PyTorch equivalents, live internals,
backprop step by step and parity against other libraries. Never imports FastAPI."""
