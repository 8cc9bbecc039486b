"""llm-pages-deployer: turn an app brief into a live GitHub Pages site."""

__version__ = "0.1.0"

# The tag consumers pin (`uses: owner/llm-pages-deployer@v1`): the action's interface (action.yml's inputs and
# outputs) major version. Every release `v<__version__>` moves it; a breaking change to action.yml starts `v2`.
ACTION_MAJOR_TAG = "v1"
