"""Using a trained generator: loading it from a checkpoint, its latent layout, sampling,
interpolation, and the pictures they make. gan-sample and gan-interp are thin layers over these
plain functions, so notebooks and tests call them directly."""
