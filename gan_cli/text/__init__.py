"""Text for the text-to-image task: the caption vocabulary (tokens) and the text encoder (encoder)."""
