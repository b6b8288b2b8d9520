"""Data: reading, preparing, downloading and augmenting the lesion images."""
