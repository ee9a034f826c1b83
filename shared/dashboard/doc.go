// Package dashboard serves the live business view of a shopstream pipeline:
// one page of charts that refreshes itself, and the JSON feeds behind every
// chart, so that other tools can read the same figures.
//
// A Feed is a named reader (GET /api/{name}); the page shows a panel for
// each feed the server has. Feeds come from where the figures live: the
// analytics views in PostgreSQL (AnalyticsFeeds), Kafka end offsets and
// consumer lag (Monitor), and the functions' own tables (built by the
// caller through each function's api package).
//
// The page's script and the charting library (uPlot) are bundled by esbuild
// into assets/dist at build time (make assets); nothing is fetched from
// the internet at run time.
package dashboard
