"""The Gradio front end: it only wires widgets to the `assistant` package."""
