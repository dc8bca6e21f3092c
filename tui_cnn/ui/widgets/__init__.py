"""Drawing widgets: heatmaps, charts, scatter plots, digits, tables and text panels."""
