"""ganplay: train, watch and explore GANs. The core package; it never imports Streamlit."""

__version__ = "0.1.0"
