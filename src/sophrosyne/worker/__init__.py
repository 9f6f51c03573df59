"""The worker composition root: claims runs from the database queue and executes them."""
