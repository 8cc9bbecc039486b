"""llm-pages-deployer: turn an app brief into a live GitHub Pages site."""

__version__ = "0.1.0"
