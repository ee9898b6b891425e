// Mounts GraphiQL on the page's #graphiql, configured by its data-config attribute.
// Queries and mutations go over HTTP to the page's own URL (/graphql); subscriptions over a
// WebSocket to the same URL (graphql-transport-ws), whose connection_init payload carries the
// headers editor's headers (GraphiQL's fetcher adds them), which is where dev auth reads
// X-Dev-User on a WebSocket.
"use strict";

(function mountGraphiQL() {
  const root = document.getElementById("graphiql");
  const config = JSON.parse(root.dataset.config);
  const endpoint = window.location.origin + window.location.pathname;
  const fetcher = GraphiQL.createFetcher({
    url: endpoint,
    subscriptionUrl: endpoint.replace(/^http/, "ws"),
  });
  const props = { fetcher, defaultQuery: config.query };
  if (config.headers) {
    props.defaultHeaders = config.headers;
    props.defaultEditorToolsVisibility = "headers";
  }
  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
})();
