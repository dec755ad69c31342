"""Everything vlearn does, without a screen. Nothing in here imports Textual."""
