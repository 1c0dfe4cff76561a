"""Bar sources: Polygon REST and the synthetic demo feed."""
