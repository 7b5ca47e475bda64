"""Domain operations. Services take plain values and models, flush, never commit."""
