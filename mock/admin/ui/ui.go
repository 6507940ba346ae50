// Package ui is the twins' dashboard at /__admin/ui: one HTML page, a style
// sheet and a JavaScript module, embedded, with no build step and nothing
// fetched from elsewhere. The page holds no data; it reads and changes
// everything through the admin API (the request journal live from
// GET /__admin/requests/stream), sending the admin token, when the twin has
// one, as an Authorization header. The token reaches the page once, in its
// address's fragment (#token=...), which browsers never send to a server.
package ui

import (
	"embed"
	"net/http"
	"path"

	"github.com/contactbridge/contactbridge/mock/pipeline"
)

//go:embed assets
var assets embed.FS

// Path is where the dashboard is served.
const Path = "/__admin/ui"

// contentTypes are the assets' types, by extension.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// header is sent with every asset: nothing but the twin's own origin may be
// loaded, framed or connected to, and the page is always asked for again
// (it changes with the binary, and holds no data).
func header() http.Header {
	return http.Header{
		"Content-Security-Policy": {"default-src 'self'; img-src 'self' blob:; style-src 'self'; script-src 'self'; " +
			"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"},
		"X-Content-Type-Options": {"nosniff"},
		"Referrer-Policy":        {"no-referrer"},
		"Cache-Control":          {"no-cache"},
	}
}

// serve answers the embedded asset name, or 404.
func serve(name string) (pipeline.Response, error) {
	ct, known := contentTypes[path.Ext(name)]
	data, err := assets.ReadFile("assets/" + name)
	if !known || err != nil {
		return pipeline.Response{}, &pipeline.Error{Status: http.StatusNotFound, Messages: []string{"no dashboard file " + name}}
	}
	return pipeline.Response{Status: http.StatusOK, Header: header(), Body: pipeline.Raw{ContentType: ct, Data: data}}, nil
}

// Page serves the dashboard's page (operation admin-ui).
func Page(*pipeline.Request) (pipeline.Response, error) { return serve("index.html") }

// Asset serves a file of the dashboard (operation admin-ui-asset).
func Asset(r *pipeline.Request) (pipeline.Response, error) {
	name := r.Path["asset"]
	if name == "index.html" || path.Base(name) != name {
		return pipeline.Response{}, &pipeline.Error{Status: http.StatusNotFound, Messages: []string{"no dashboard file " + name}}
	}
	return serve(name)
}
