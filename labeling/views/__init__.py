"""Pages (HTML) of labeling, one module per feature: datasets, annotation, quality, exports."""
