"""The four phases (extract, transform, load, validate), rollback, and the orchestration over them."""
