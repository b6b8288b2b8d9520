"""Training: models, recipes, the loop, run folders, precision."""
