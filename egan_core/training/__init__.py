"""Training: the loop, the GAN step, data order, run outputs."""
