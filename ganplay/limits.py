"""Defaults and limits the CLI's help shows, kept here, apart from the modules that use them, because those import
torch (about 1.5 s) and `python -m ganplay ... --help` must not."""

# export-dataset (synthetic.py)

DEFAULT_MIN_CONFIDENCE = 0.9  # the evaluator's probability for its label; below it a sample is dropped
MAX_DRAWS_PER_IMAGE = 20  # default cap: draws per image asked for, so a collapsed class ends the search
DEFAULT_BATCH = 500

# invert (inversion.py, restoration.py)
DEFAULT_STEPS = 200
DEFAULT_RESTARTS = 4
MASK_PRESETS = ("centre", "left", "random50")

# directions (directions.py, direction_stats.py)
STATS_SEEDS = 200  # samples per description: a share of 200 is known to about +-3.5 points
STATS_TOP = 5
METHODS = ("sefa", "pca")
MAX_K = 32  # directions kept per method: more than anyone reads in a grid, and PCA's cost grows with it
PCA_SAMPLES = 5000  # latents whose first-layer activations PCA sees (GANSpace: many more, on far larger nets)
DEFAULT_STRENGTH = 3.0  # along a unit direction z's own spread is 1, so 3 is three standard deviations
