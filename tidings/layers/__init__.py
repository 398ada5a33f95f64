"""Channel layer backends: the contract (``base``) and one module per backend."""
