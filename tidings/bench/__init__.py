"""``tidings bench``: side-by-side benchmarks against the layers people use today."""
