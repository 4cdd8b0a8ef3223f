"""Small neural networks from scratch: data sets, layers, losses, the MLP and its problem."""
