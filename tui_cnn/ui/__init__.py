"""The Textual shell: panes, widgets, dialogs and the stylesheet (no maths here)."""
