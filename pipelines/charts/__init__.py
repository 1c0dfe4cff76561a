"""Chart slices: the slice search shared by ClickHouse and the hot cache, the join seam, exports."""
