"""Generator and discriminator networks. Each is built from config through `_target_`."""
