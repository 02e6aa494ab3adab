"""The four phases (extract, transform, load, validate) and the orchestration over them."""
