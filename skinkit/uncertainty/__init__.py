"""Knowing when not to answer: temperature scaling, conformal prediction sets, and a gate for
inputs unlike the training images."""
