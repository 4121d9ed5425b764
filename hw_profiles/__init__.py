"""Hardware profiles shipped with lava_local (TOML files; see loihi2.toml for the format)."""
