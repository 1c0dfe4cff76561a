"""Series: the one write path for bars and the series versions that caches and ETags follow."""
