"""The GraphiQL playground served at GET /graphql: our page, our script that mounts GraphiQL,
and GraphiQL's browser builds vendored from the npm registry (`server.playground.vendor`), all
from the package itself, under a strict CSP; no request leaves the server."""
