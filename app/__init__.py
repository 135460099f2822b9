"""digitdraw: draw a digit, watch a model trained on MNIST read it live."""
