"""The access patterns, as plain async functions of the context and their arguments."""
