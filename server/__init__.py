"""Multi-Agent Management API: a GraphQL server on DynamoDB."""
