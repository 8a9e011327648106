"""The render layer: computed tables and figures laid out; imports no model code."""
