// Starts GraphiQL on the gateway's page. The page holds no inline script
// (its content-security policy allows only this origin's files): it loads
// React, ReactDOM and GraphiQL, then this file, which reads the settings the
// page carries as JSON (`#graphiql-settings`: the example queries as the
// default tabs, and the query to open, if any) and renders GraphiQL against
// the URL the page was served from, the GraphQL endpoint itself.
(function () {
  "use strict";
  var settings = JSON.parse(
    document.getElementById("graphiql-settings").textContent
  );
  var props = {
    fetcher: GraphiQL.createFetcher({ url: window.location.pathname }),
    defaultTabs: settings.tabs,
  };
  if (settings.query) {
    // GraphiQL selects the tab holding this query, or opens one for it.
    props.query = settings.query;
  }
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, props)
  );
})();
