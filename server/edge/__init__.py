"""The HTTP edge below the GraphQL view: refusals, the HTTP protocol's bounds, hosts and
origins, request ids."""
