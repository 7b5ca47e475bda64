"""Installing a caisse: the association's base data and the first administrator (`flask ssa init`)."""
